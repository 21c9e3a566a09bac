import assert from "node:assert/strict";
import { loadConfig } from "../lib/config.ts";
import { demoEnvironment } from "./main.ts";

Deno.test("demoEnvironment() puts every data path of the demo in <RECIO_DATA_DIR>/demo, none under a live path", () => {
  for (
    const env of [
      {},
      { RECIO_DATA_DIR: "/var/lib/recio/" },
      {
        RECIO_DATA_DIR: "/srv/recio",
        RECIO_PG_DIR: "/srv/pg",
        RECIO_DB_USERS_DIR: "/srv/pg-users",
        RECIO_OUTPUT_DIR: "/srv/out",
        RECIO_BACKUP_DIR: "/srv/backups",
        KALSHI_ARCHIVE_DIR: "/srv/archive",
        RECIO_LOG_FILE: "/var/log/recio.log",
      },
    ]
  ) {
    const live = loadConfig(env);
    const demo = loadConfig({ ...env, ...demoEnvironment(live) });
    const dir = demo.dataDir;
    assert.equal(dir, `${live.dataDir.replace(/\/$/, "")}/demo`);
    assert.equal(demo.demo, true);
    const paths = [
      demo.pgDir,
      demo.dbUsers.dir,
      demo.coordinator.outputDir,
      demo.backup.dir,
      ...(demo.kalshi.archiveDir ? [demo.kalshi.archiveDir] : []),
      ...(demo.log.file ? [demo.log.file] : []),
    ];
    const livePaths = [
      live.pgDir,
      live.dbUsers.dir,
      live.coordinator.outputDir,
      live.backup.dir,
      live.kalshi.archiveDir,
      live.log.file,
    ].filter((p): p is string => p !== undefined);
    for (const p of paths) {
      assert.ok(p.startsWith(`${dir}/`), `${p} is in the demo folder`);
      for (const l of livePaths) {
        assert.ok(p !== l && !p.startsWith(`${l}/`), `${p} is not under the live ${l}`);
      }
    }
    assert.equal(demo.pgPort, 0);
  }
});
