import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Logs in to Vault's cert auth method as a Java service does: the client key
 * and certificate from a PKCS#12 file loaded with KeyStore.getInstance("PKCS12"),
 * the server trusted through the CA's PEM. The password arrives on stdin.
 * Prints "status=<code> policies=<token_policies>" and never the token, which
 * it revokes again.
 * Usage: java Login <file.p12> <ca.pem> <https://host:port> <auth mount path>
 */
public class Login {
  public static void main(String[] args) throws Exception {
    BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line = stdin.readLine();
    if (line == null) throw new IllegalArgumentException("expected the PKCS#12 password on stdin");
    char[] password = line.toCharArray();

    KeyStore keys = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(Paths.get(args[0]))) {
      keys.load(in, password);
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, password);

    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    int i = 0;
    try (InputStream in = Files.newInputStream(Paths.get(args[1]))) {
      for (Certificate c : cf.generateCertificates(in)) trust.setCertificateEntry("ca" + i++, c);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);

    HttpsURLConnection login = (HttpsURLConnection) new URL(args[2] + "/v1/auth/" + args[3] + "/login").openConnection();
    login.setSSLSocketFactory(tls.getSocketFactory());
    login.setRequestMethod("PUT");
    login.setDoOutput(true);
    try (OutputStream out = login.getOutputStream()) {
      out.write("{}".getBytes(StandardCharsets.UTF_8));
    }
    int status = login.getResponseCode();
    InputStream body = status < 400 ? login.getInputStream() : login.getErrorStream();
    String text = body == null ? "" : new String(body.readAllBytes(), StandardCharsets.UTF_8);
    Matcher policies = Pattern.compile("\"token_policies\":\\[([^\\]]*)\\]").matcher(text);
    Matcher token = Pattern.compile("\"client_token\":\"([^\"]+)\"").matcher(text);
    if (token.find()) {
      HttpsURLConnection revoke = (HttpsURLConnection) new URL(args[2] + "/v1/auth/token/revoke-self").openConnection();
      revoke.setSSLSocketFactory(tls.getSocketFactory());
      revoke.setRequestMethod("PUT");
      revoke.setRequestProperty("X-Vault-Token", token.group(1));
      revoke.setDoOutput(true);
      try (OutputStream out = revoke.getOutputStream()) {
        out.write("{}".getBytes(StandardCharsets.UTF_8));
      }
      revoke.getResponseCode();
    }
    System.out.println("status=" + status + " policies=" + (policies.find() ? policies.group(1).replace("\"", "") : ""));
  }
}
