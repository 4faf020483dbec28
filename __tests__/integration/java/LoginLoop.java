import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

/**
 * Code42's side of a failover, as a Java service sees it through one address:
 * loads the PKCS#12 bundle with KeyStore.getInstance("PKCS12"), then, until
 * the time is up, logs in to cert auth through a named role and writes one
 * archive key with that token, one after the other. Each request prints one
 * line: "op=<login|write> n=<i> start=<ms> end=<ms> status=<http code or
 * exception class>". The key written as n is base64(SHA-256("<run>:<n>")),
 * so the reader can check it without it being printed. Never prints a token.
 * The password arrives on stdin.
 * Usage: java LoginLoop <file.p12> <ca.pem> <https://host:port> <auth mount> <role> <kv path> <run> <duration ms> <pause ms>
 */
public class LoginLoop {
  private static final int CONNECT_TIMEOUT_MS = 2000;
  private static final int READ_TIMEOUT_MS = 5000;

  public static void main(String[] args) throws Exception {
    BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line = stdin.readLine();
    if (line == null) throw new IllegalArgumentException("expected the PKCS#12 password on stdin");
    char[] password = line.toCharArray();
    String addr = args[2], mount = args[3], role = args[4], kv = args[5], run = args[6];
    long durationMs = Long.parseLong(args[7]), pauseMs = Long.parseLong(args[8]);

    KeyStore keys = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(Paths.get(args[0]))) {
      keys.load(in, password);
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, password);
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    int c = 0;
    try (InputStream in = Files.newInputStream(Paths.get(args[1]))) {
      for (Certificate cert : cf.generateCertificates(in)) trust.setCertificateEntry("ca" + c++, cert);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    SSLSocketFactory sockets = tls.getSocketFactory();

    Pattern tokenPattern = Pattern.compile("\"client_token\":\"([^\"]+)\"");
    long end = System.currentTimeMillis() + durationMs;
    for (int n = 0; System.currentTimeMillis() < end; n++) {
      long start = System.currentTimeMillis();
      String token = null;
      String status;
      try {
        String[] answer = put(sockets, addr + "/v1/auth/" + mount + "/login", "{\"name\":\"" + role + "\"}", null);
        status = answer[0];
        Matcher m = tokenPattern.matcher(answer[1]);
        if (status.equals("200") && m.find()) token = m.group(1);
      } catch (Exception e) {
        status = e.getClass().getSimpleName();
      }
      System.out.println("op=login n=" + n + " start=" + start + " end=" + System.currentTimeMillis() + " status=" + status);
      if (token != null) {
        start = System.currentTimeMillis();
        byte[] digest = MessageDigest.getInstance("SHA-256").digest((run + ":" + n).getBytes(StandardCharsets.UTF_8));
        String body = "{\"archiveKey\":\"" + Base64.getEncoder().encodeToString(digest) + "\"}";
        try {
          status = put(sockets, addr + "/v1/" + kv + "/" + run + "/" + n, body, token)[0];
        } catch (Exception e) {
          status = e.getClass().getSimpleName();
        }
        System.out.println("op=write n=" + n + " start=" + start + " end=" + System.currentTimeMillis() + " status=" + status);
      }
      System.out.flush();
      Thread.sleep(pauseMs);
    }
  }

  /** PUT with a JSON body; returns the status code and the body. */
  private static String[] put(SSLSocketFactory sockets, String url, String body, String token) throws Exception {
    HttpsURLConnection conn = (HttpsURLConnection) new URL(url).openConnection();
    conn.setSSLSocketFactory(sockets);
    conn.setConnectTimeout(CONNECT_TIMEOUT_MS);
    conn.setReadTimeout(READ_TIMEOUT_MS);
    conn.setRequestMethod("PUT");
    conn.setInstanceFollowRedirects(false);
    conn.setRequestProperty("Content-Type", "application/json");
    if (token != null) conn.setRequestProperty("X-Vault-Token", token);
    conn.setDoOutput(true);
    try (OutputStream out = conn.getOutputStream()) {
      out.write(body.getBytes(StandardCharsets.UTF_8));
    }
    int code = conn.getResponseCode();
    InputStream in = code < HttpURLConnection.HTTP_BAD_REQUEST ? conn.getInputStream() : conn.getErrorStream();
    String text = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
    return new String[] {String.valueOf(code), text};
  }
}
