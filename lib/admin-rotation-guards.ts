import { Fn, Op, TerraformResource, Token, ref } from "cdktf";
import { AdminCertificate } from "./admin-certificate";
import { CertAuthBackend, CertLoginRole, ICertAuthBackend } from "./cert-auth";
import { Refusal, ReplacingSetting, keepLiveValues, refuseChanges } from "./replacement-guard";

/** Where a rotation stands, as {@link guardLiveLogin} needs it. */
type Phase = "idle" | "started" | "finishing";

/** What Code42 logs in with and through, as one synth built it (two-phase mode only). */
export interface LiveLogin {
  /** The phase this synth builds. */
  readonly phase: Phase;
  /** The phase the state records. */
  readonly recorded: Phase;
  /** The current slot's certificate (idle, started), unless an adopted one holds the slot. */
  readonly current?: AdminCertificate;
  /** The next slot's certificate (started, finishing). */
  readonly next?: AdminCertificate;
  /** `crashplanUser`. */
  readonly certRole: CertLoginRole;
  /** `crashplanUser-next` (started, finishing). */
  readonly certRoleNext?: CertLoginRole;
  /** The cert auth method Code42 logs in at. */
  readonly certAuth: ICertAuthBackend;
}

/**
 * Settings a rotation cannot carry: they move the mount a live object lives
 * in, so the old certificate or role would be lost before `rotate finish`.
 */
const MOVES_A_MOUNT = new Set(["backend", "path"]);
const carried = (settings: readonly ReplacingSetting[]) => settings.filter((s) => !MOVES_A_MOUNT.has(s.attribute));
const moving = (settings: readonly ReplacingSetting[]) => settings.filter((s) => MOVES_A_MOUNT.has(s.attribute));

const REFUSED = "so this plan is refused and nothing was applied";
const START = "`npm run rotate -- start`";
const UNTIL_FINISH = "then `npm run bundle`, upload the bundle to Code42 and run `npm run rotate -- finish`";

/**
 * With two-phase rotation, a config edit never replaces the certificate or the
 * role Code42 logs in with: the objects Code42 may hold keep their live values
 * for the settings that would replace them (`ignore_changes`), and a plan whose
 * configuration differs from them is refused at plan time (postconditions),
 * naming the setting, both values and what to run. A rotation carries such an
 * edit: `rotate start` builds the next slot from the configuration, and after
 * `rotate finish` the current slot matches it again.
 *
 * Which object refuses when:
 * - a plain re-apply of an idle state (a deploy, a plan, drift, a raw engine
 *   run): the current certificate and `crashplanUser` (run `rotate start`);
 * - a plain re-apply of a started state: the next certificate and
 *   `crashplanUser-next`, which Code42 may hold already (finish or abort first);
 * - the transitions (`rotate start`, `finish`, `abort`) keep the live values
 *   and refuse nothing they carry;
 * - in every phase, the settings that move a mount (`pki_int.path`,
 *   `certAuth.path`), which no rotation can carry.
 */
export function guardLiveLogin(login: LiveLogin): void {
  const steadyIdle = login.phase === "idle" && login.recorded === "idle";
  const steadyStarted = login.phase === "started" && login.recorded === "started";
  const guard = (resource: TerraformResource, settings: readonly ReplacingSetting[], subject: string, carry?: Refusal) => {
    keepLiveValues(resource, settings);
    refuseChanges(resource, moving(settings), refuseMountMove(subject));
    if (carry) refuseChanges(resource, carried(settings), carry);
  };

  if (login.current) {
    const subject = "the admin certificate Code42 logs in with";
    guard(login.current.certificate, login.current.replacingSettings, subject, steadyIdle ? refuseForCurrent(subject) : undefined);
  }
  if (login.next) {
    const subject = "the next certificate of the rotation in progress";
    guard(login.next.certificate, login.next.replacingSettings, subject, steadyStarted ? refuseForNext(subject) : undefined);
  }
  // In `finishing` the role is re-pointed at the next certificate, which
  // replaces it anyway, under its configured name: nothing to keep there.
  const roleSubject = "the role Code42 logs in through";
  if (login.phase === "finishing") refuseChanges(login.certRole.role, moving(login.certRole.replacingSettings), refuseMountMove(roleSubject));
  else guard(login.certRole.role, login.certRole.replacingSettings, roleSubject, steadyIdle ? refuseRoleRename : undefined);
  if (login.certRoleNext) {
    const subject = "the role the next certificate logs in through";
    guard(login.certRoleNext.role, login.certRoleNext.replacingSettings, subject, steadyStarted ? refuseForNext(subject) : undefined);
    if (login.phase === "started") refuseNameClash(login.certRoleNext, login.certRole);
  }

  if (login.certAuth instanceof CertAuthBackend) {
    keepLiveValues(login.certAuth.backend, login.certAuth.replacingSettings);
    refuseChanges(
      login.certAuth.backend,
      login.certAuth.replacingSettings,
      (s, live, configured) =>
        `${s.setting}: Code42 logs in at auth/${live}/login, and the configuration moves the cert auth method to "${configured}". ` +
        `Code42 would be locked out until its own settings name the new path, and a rotation cannot avoid that, ${REFUSED}. ` +
        `Set ${s.setting} back to "${live}".`,
    );
  }
}

/** "…: the admin certificate Code42 logs in with has common name "a", and the configuration says "b"." */
const differs = (s: ReplacingSetting, subject: string, live: string, configured: string) =>
  `${s.setting}: ${subject} has ${s.label} "${live}", and the configuration says "${configured}".`;

const refuseForCurrent =
  (subject: string): Refusal =>
  (s, live, configured) =>
    `${differs(s, subject, live, configured)} Changing it would replace that certificate in place and lock Code42 out, ${REFUSED}. ` +
    `Run ${START} to issue the next certificate with the new value beside it (${UNTIL_FINISH}), or set ${s.setting} back to "${live}".`;

const refuseRoleRename: Refusal = (s, live, configured) =>
  `${differs(s, "the role Code42 logs in through", live, configured)} Renaming it deletes and re-creates the role, and Code42 cannot log in in between, ${REFUSED}. ` +
  `Run ${START}: the next certificate logs in through "${configured}-next", and "${configured}" takes over when you run \`npm run rotate -- finish\` ` +
  `after uploading its bundle; or set ${s.setting} back to "${live}".`;

const refuseForNext =
  (subject: string): Refusal =>
  (s, live, configured) =>
    `${differs(s, subject, live, configured)} Changing it would replace it in place, and Code42 may hold that certificate already, ${REFUSED}. ` +
    `Finish the rotation (\`npm run rotate -- finish\`) or abort it (\`npm run rotate -- abort\`), then run ${START} for the new value; or set ${s.setting} back.`;

const refuseMountMove =
  (subject: string): Refusal =>
  (s, live, configured) =>
    `${differs(s, subject, live, configured)} Moving the mount would lose or replace what Code42 logs in with, and a rotation cannot carry the move, ${REFUSED}. ` +
    `Set ${s.setting} back to "${live}".`;

/**
 * A rename whose `-next` role is the live role (say from "a-next" to "a"):
 * `rotate start` would write the next certificate into the role Code42 logs
 * in through now. Vault keys roles in lower case.
 */
function refuseNameClash(next: CertLoginRole, current: CertLoginRole): void {
  const nextName = ref("self.name");
  const liveName = ref(`${current.role.fqn}.name`);
  next.role.lifecycle = {
    ...next.role.lifecycle,
    postcondition: [
      ...(next.role.lifecycle?.postcondition ?? []),
      {
        condition: Op.neq(Fn.lower(Token.asString(nextName)), Fn.lower(Token.asString(liveName))),
        errorMessage:
          `certRole.name: the rotation would let the next certificate log in through role "${Token.asString(nextName)}", ` +
          `and that is the role Code42 logs in through now, ${REFUSED}. ` +
          `Rename it in two rotations, first to a name whose "-next" role is not in use, then to the one you want; ` +
          `or set certRole.name back to "${Token.asString(liveName)}".`,
      },
    ],
  };
}
