import { createInterface } from "node:readline/promises";
import { Deployment } from "../engine/deployment";
import { assertStateCluster } from "../lifecycle/cluster-check";
import { AdoptionPlan, adopt, formatFindings } from "../lifecycle/adopt";
import { inspectForAdoption } from "../lifecycle/adopt-inspect";
import { unrecordedParts } from "../lifecycle/recovery";
import { CommandIo, CommandSpec, EXIT, runCommand } from "./command";

const OPTIONS = {
  yes: { type: "boolean", default: false },
  inspect: { type: "boolean", default: false },
  "take-over-pki": { type: "boolean", default: false },
} as const;

export const ADOPT: CommandSpec<typeof OPTIONS> = {
  name: "adopt",
  synopsis: "[--inspect] [--yes] [--take-over-pki]",
  summary: "take over a keystore built by hand with Code42's recipe, without replacing any mount, CA or issuer",
  details: `  Looks at the server by the configured paths and names (kv.path, certAuth.path,
  pki.path, pki_int.path, role.name, policy.name, certRole.name) and prints what it
  takes over, what it leaves alone, and every difference from the configuration
  (those that change behaviour are marked). Then it plans: the mounts, the cert auth
  method, the PKI URLs, the role and the policy are imported into the state; the root
  and intermediate CAs are used as they are (never generated, re-signed or replaced);
  crashplanUser is written again with the certificate it pins, so the crashplan.p12
  you made keeps logging in until \`rotate start\`/\`finish\` moves Code42 to a managed one.
  The plan is shown, and applied exactly only when you confirm. A plan that would
  destroy or replace anything, or make a CA, is refused.
  A PKI mount that does not look like the recipe's is refused: a root not named
  rootCa.commonName, roles or issued certificates the recipe does not make (--inspect
  lists them as blockers).
  --inspect        print the findings only; change nothing
  --yes            apply without asking (pipelines). Without a terminal, --yes is required.
  --take-over-pki  take over such PKI mounts all the same: they are the keystore's
  Exit 0 adopted (or inspected), 1 refused, declined or failed; see docs/adopt.md.
`,
  options: OPTIONS,
};

/** Asks y/N on the terminal. */
async function askOnTerminal(text: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${text}Apply this plan and adopt the keystore? [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** The `adopt` command; `interactive` says whether a person can answer (a TTY). */
export function adoptMain(
  argv: readonly string[],
  makeDeployment: () => Deployment,
  io: CommandIo,
  confirm: { readonly interactive: boolean; readonly ask: (text: string) => Promise<boolean> } = {
    interactive: process.stdin.isTTY === true,
    ask: askOnTerminal,
  },
): Promise<number> {
  return runCommand(ADOPT, argv, io, async ({ values }) => {
    if (!values.inspect && !values.yes && !confirm.interactive) {
      io.stderr(
        "adopt: asks for confirmation on a terminal, and stdin is not one; pass --yes to apply without asking (or --inspect to look only). Nothing was changed\n",
      );
      return EXIT.failed;
    }
    const deployment = makeDeployment();
    await assertStateCluster(deployment);
    const findings = await inspectForAdoption(deployment, { takeOverPki: values["take-over-pki"] });
    io.stdout(formatFindings(findings));
    if (findings.blockers.length > 0) {
      io.stderr("adopt: cannot adopt this server as it is (see above). Nothing was changed\n");
      return EXIT.failed;
    }
    if (values.inspect) return EXIT.ok;
    const missing = unrecordedParts(deployment, await deployment.stateResources(), await deployment.adoption());
    const toTake = findings.objects.filter((o) => o.exists && missing.includes(o.part));
    if (toTake.length === 0) {
      const state = deployment.config.backend.type === "local" ? deployment.stateFile : `the ${deployment.config.backend.type} backend`;
      io.stderr(
        findings.objects.some((o) => o.exists)
          ? `adopt: the state (${state}) already manages everything found; nothing to take over. Run \`npm run deploy\` (or \`npm run drift\` to compare). Nothing was changed\n`
          : "adopt: the server holds none of the keystore's objects at the configured paths and names; nothing to take over. " +
              "Check the paths and names (`npm run adopt -- --inspect`), or build a new keystore with `npm run deploy`. Nothing was changed\n",
      );
      return EXIT.failed;
    }
    // adopt() leaves alone what the state already records (fitToState).
    const outcome = await adopt(deployment, findings, {
      confirm: async (_plan: AdoptionPlan, text: string) => {
        if (values.yes) {
          io.stdout(text);
          return true;
        }
        return confirm.ask(text);
      },
    });
    if (!outcome.applied) {
      io.stderr("adopt: declined. Nothing was changed\n");
      return EXIT.failed;
    }
    const s = findings.serials;
    const a = outcome.adoption;
    const cas = [a.rootIssuerId ? `root CA ${s.root}` : "", a.intermediateIssuerId ? `intermediate ${s.intermediate}` : ""].filter((x) => x);
    io.stdout(
      `adopted: ${cas.length > 0 ? `${cas.join(" and ")} used as they are` : "no CA (the stack makes or already manages them)"}; ` +
        `${a.adminCertificatePem ? `admin certificate ${s.adminCert} kept (your crashplan.p12 keeps logging in)` : "admin certificate issued by the stack"}; ` +
        `the state records the adoption.\nnext: \`npm run drift\` (expect in sync); \`npm run rotate -- start\`, \`npm run bundle\`, upload, ` +
        "`npm run rotate -- finish` to move Code42 to a managed certificate\n",
    );
    return EXIT.ok;
  });
}
