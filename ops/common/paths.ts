import { join, resolve } from "node:path";

/** The project root (this file lives in `<root>/ops/common`). */
export const PROJECT_DIR = resolve(__dirname, "..", "..");
/** The project's private working directory: state, plans, bundle, local server (git-ignored). */
export const LOCAL_DIR = join(PROJECT_DIR, ".local");
/** Where `server start` keeps its server unless told otherwise. */
export const DEFAULT_SERVER_DIR = join(LOCAL_DIR, "server");
/** The copy of the default server's env file that the deploy commands read. */
export const LOCAL_ENV_FILE = join(LOCAL_DIR, "vault.env");
/** Where `plan` writes and `apply-plan` reads by default (relative to the working directory). */
export const DEFAULT_PLAN_FILE = join(".local", "plans", "keystore.tfplan");
/** Where `bundle` writes by default (relative to the working directory). */
export const DEFAULT_BUNDLE_DIR = join(".local", "bundle");
