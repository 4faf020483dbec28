import { ParseArgsConfig, parseArgs } from "node:util";
import { KeystoreValidationError } from "../../lib/errors";
import { errorMessage } from "../common/errors";
import { shown } from "../common/secret-values";
import { releaseProjectLocks, setLockCommandName } from "../lock/held-locks";

/** Where a command writes: whole lines ending in "\n". */
export interface CommandIo {
  /** Results, for people (a short table) or scripts (`--json`). */
  readonly stdout: (text: string) => void;
  /** Progress, warnings, errors and usage. */
  readonly stderr: (text: string) => void;
}

/** The process's own streams. */
export const processIo: CommandIo = { stdout: (s) => void process.stdout.write(s), stderr: (s) => void process.stderr.write(s) };

/** Exit codes; each means one thing for every command (drift adds 2 = drift found, status 1 = inside the window). */
export const EXIT = {
  ok: 0,
  /** The command ran and failed, or refused (what and why is on stderr). */
  failed: 1,
  /** The command line was wrong: unknown option, stray argument, missing value. Nothing ran. */
  usage: 2,
} as const;

type Options = NonNullable<ParseArgsConfig["options"]>;

/** What a command accepts, for the parser and its usage text. */
export interface CommandSpec<O extends Options> {
  /** e.g. "plan" or "server start". */
  readonly name: string;
  /** The options and arguments after the name, e.g. "[--out FILE]". */
  readonly synopsis: string;
  /** One line for the command list. */
  readonly summary: string;
  /** More lines for `--help`: what it does, each option, exit codes. */
  readonly details: string;
  /** Options in node:util parseArgs form (`--help` is added). */
  readonly options: O;
  /** Names of the positional arguments it takes, in order; any more is an error. @default none */
  readonly positionals?: readonly string[];
}

/** The parsed command line. */
export interface Parsed<O extends Options> {
  readonly values: ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: true }>>["values"];
  readonly positionals: string[];
}

/** The usage text of a command: synopsis, then details. */
export function usage(spec: CommandSpec<Options>): string {
  return `usage: ${spec.name}${spec.synopsis ? ` ${spec.synopsis}` : ""}\n${spec.details.replace(/\n?$/, "\n")}`;
}

/**
 * Parses `argv` strictly (unknown options, missing values and stray
 * arguments print the usage and give exit 2, before anything runs), answers
 * `--help`, then runs `body`. A {@link UsageError} from `body` (a bad option
 * value, checked before anything runs) is a usage error too. An error thrown by `body` is printed as
 * `<name>: <message>` without a stack trace and gives exit 1.
 */
export async function runCommand<O extends Options>(
  spec: CommandSpec<O>,
  argv: readonly string[],
  io: CommandIo,
  body: (parsed: Parsed<O>) => Promise<number>,
): Promise<number> {
  let parsed: Parsed<O>;
  try {
    const result = parseArgs({
      args: joinNegativeValues(argv, spec.options),
      strict: true,
      allowPositionals: true,
      options: { ...spec.options, help: { type: "boolean", short: "h", default: false } },
    });
    if ((result.values as { help?: boolean }).help) {
      io.stdout(usage(spec));
      return EXIT.ok;
    }
    const allowed = spec.positionals ?? [];
    if (result.positionals.length > allowed.length) {
      const stray = result.positionals
        .slice(allowed.length)
        .map((p) => shown(p))
        .join(", ");
      throw new Error(
        `unexpected argument${result.positionals.length - allowed.length > 1 ? "s" : ""} ${stray}${allowed.length === 0 ? "; this command takes none" : ""}`,
      );
    }
    parsed = { values: result.values as Parsed<O>["values"], positionals: result.positionals };
  } catch (e) {
    // node:util suggests passing an unknown option after `--`; no command here takes such an argument.
    const message = errorMessage(e).replace(/\. To specify a positional argument starting with a '-'.*$/s, "");
    io.stderr(`${spec.name}: ${message}\n${usage(spec)}`);
    return EXIT.usage;
  }
  setLockCommandName(spec.name);
  try {
    return await body(parsed);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`${spec.name}: ${e.message}\n${usage(spec)}`);
      return EXIT.usage;
    }
    io.stderr(`${spec.name}: ${e instanceof KeystoreValidationError ? "configuration error: " : ""}${errorMessage(e)}\n`);
    return EXIT.failed;
  } finally {
    releaseProjectLocks();
  }
}

/** One subcommand of `c42-keystore`, as the CLI lists and runs it. */
export interface Command {
  readonly spec: CommandSpec<Options>;
  /** Runs the command with the real surroundings (process environment, project directory). */
  readonly main: (argv: readonly string[], io: CommandIo) => Promise<number>;
}

/**
 * `--keep -1` as `--keep=-1`: node:util would refuse the value as "ambiguous" (it starts with a dash), with
 * a message that names neither the value nor what is expected. Only a string option followed by a negative
 * number is joined, so the option's own check can say what it expects; `--out --json` stays a missing value.
 */
function joinNegativeValues(argv: readonly string[], options: Options): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") return [...args, ...argv.slice(i)];
    const next = argv[i + 1];
    const name = arg.startsWith("--") ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === "string" && next !== undefined && /^-[0-9.]/.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else args.push(arg);
  }
  return args;
}

/** Bounds of a whole-number option. */
export interface WholeNumberBounds {
  readonly min: number;
  readonly max: number;
}

/**
 * Parses a whole-number option strictly: digits only, no sign, no spaces around it (a quoted `"1 "` in a
 * crontab is a mistake worth seeing), within the bounds. The usage error names the option, the value and
 * what is expected.
 */
export function wholeNumber(option: string, value: string, bounds: WholeNumberBounds): number {
  const range = `${bounds.min} to ${bounds.max}`;
  if (value.trim() !== value && /^\d+$/.test(value.trim()))
    throw new UsageError(`${option}: ${shown(value)} has spaces around the number; expected ${range}, without spaces`);
  if (!/^\d{1,15}$/.test(value)) throw new UsageError(`${option}: ${shown(value)} is not a whole number; expected ${range}`);
  const n = Number(value);
  if (n < bounds.min || n > bounds.max) throw new UsageError(`${option}: ${n} is out of range; expected a whole number from ${range}`);
  return n;
}

/** Fails with a usage error when a path option is given but empty (`--out ''`). */
export function nonEmptyPath(option: string, value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === "") throw new UsageError(`${option}: the path is empty; give a path or leave the option out`);
  return value;
}

/** A command-line mistake found after parsing; {@link runCommand} treats it as a usage error (exit 2). */
export class UsageError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Runs `check` (which validates an option's value); what it throws becomes a {@link UsageError}. */
export function asUsage<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    throw new UsageError(errorMessage(e));
  }
}
