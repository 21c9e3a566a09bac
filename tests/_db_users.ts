/**
 * The users' own database logins in tests.
 *
 * Roles belong to the whole server, not to one database: every test database of every run on one
 * server (its clone of the template included) shares the roles `user_NNNN_rw`. Grants are per
 * database, so isolation between databases holds; the password is per role, so every run on one
 * server must use the same one, or each would reset it under the others' workers. Hence one folder
 * of password files per server: `tests/run.ts` names it in `RECIO_TEST_USERS_DIR` (beside its own
 * embedded server, or `<tmp>/recio-test-roles/<host>_<port>` for a `DATABASE_URL` shared by
 * several runs); a file is created once, atomically, and then only read, so concurrent runs agree.
 * `tests/run.ts` drops, at the end, the `user_NNNN_rw` roles that no database of the server still
 * uses (PostgreSQL refuses to drop one that any database depends on). Do not run the tests on a
 * server whose `user_NNNN_rw` roles serve a live database: the tests set those roles' passwords.
 *
 * @module
 */
import { parseDatabaseUrl } from "../lib/db.ts";
import { passwordFile, provisionUserLogins } from "../lib/db_users.ts";
import { ensurePrivateDir, PRIVATE_FILE_MODE } from "../lib/private_files.ts";
import { type TestDb, testServerUrl } from "./_db.ts";

/** The folder of the test roles' password files of this server. */
export function testUsersDir(): string {
  const named = Deno.env.get("RECIO_TEST_USERS_DIR");
  if (named) return named;
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  const [h] = parseDatabaseUrl(testServerUrl()).hosts;
  return `${tmp}/recio-test-roles/${h!.host.replace(/[^A-Za-z0-9.-]/g, "_")}_${h!.port}`;
}

/** Makes sure `users` have password files in {@linkcode testUsersDir}; returns the folder. */
export function ensureTestPasswords(users: readonly string[]): string {
  const dir = testUsersDir();
  ensurePrivateDir(dir);
  for (const user of users) {
    const file = passwordFile(dir, user);
    const pw = [...crypto.getRandomValues(new Uint8Array(16))]
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    const tmp = `${file}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
    Deno.writeTextFileSync(tmp, `${pw}\n`, { createNew: true, mode: PRIVATE_FILE_MODE });
    Deno.chmodSync(tmp, PRIVATE_FILE_MODE);
    try {
      // A hard link appears whole or not at all, and never replaces a file: of two runs
      // creating it at once, one wins and the other reads the winner's.
      Deno.linkSync(tmp, file);
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    } finally {
      Deno.removeSync(tmp);
    }
  }
  return dir;
}

/** The users' own logins on `db`, as the supervisor provisions them (passwords supplied). */
export async function testUserLogins(
  db: TestDb,
  users: readonly string[],
): Promise<Map<string, string>> {
  return await provisionUserLogins(db.sql, db.url, {
    users,
    dir: ensureTestPasswords(users),
    generate: false,
  });
}
