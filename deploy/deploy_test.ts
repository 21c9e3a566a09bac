import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { SETTINGS } from "../lib/config.ts";
import { ENV_EXAMPLE, renderEnvExample } from "./gen_env.ts";
import { isReady } from "./healthcheck.ts";
import { renderMetrics } from "../supervisor/http_metrics.ts";
import { fixedView } from "../tests/_view.ts";

Deno.test("deploy/recio.env.example is what deploy/gen_env.ts generates from SETTINGS", async () => {
  const onDisk = await Deno.readTextFile(ENV_EXAMPLE);
  assert.equal(onDisk, renderEnvExample(), "run `deno run -A deploy/gen_env.ts`");
  for (const [name, [, fallback]] of Object.entries(SETTINGS)) {
    assert.ok(onDisk.includes(`\n#${name}=${fallback ?? ""}\n`), name);
  }
});

const SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze";

Deno.test({
  name: "deploy/recio.service passes systemd-analyze verify",
  ignore: !existsSync(SYSTEMD_ANALYZE),
  async fn() {
    const unit = await Deno.readTextFile(new URL("./recio.service", import.meta.url));
    // The unit names where deno is installed in production; here, the deno running this test.
    assert.match(unit, /^ExecStart=\/usr\/local\/bin\/deno run /m);
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(
        `${dir}/recio.service`,
        unit.replaceAll("/usr/local/bin/deno", Deno.execPath()),
      );
      const out = await new Deno.Command(SYSTEMD_ANALYZE, {
        args: ["verify", `${dir}/recio.service`],
        env: { SYSTEMD_LOG_LEVEL: "warning" },
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      assert.equal(stderr.split("\n").filter((l) => l.includes("recio.service")).join("\n"), "");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    for (
      const directive of [
        "Restart=on-failure",
        "WatchdogSec=",
        "StartLimitBurst=",
        "MemoryMax=",
        "ProtectSystem=strict",
        "DynamicUser=yes",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "KillMode=mixed",
        "ReadWritePaths=/var/lib/recio",
      ]
    ) assert.match(unit, new RegExp(`^${directive}`, "m"), directive);
  },
});

Deno.test("isReady() is true only for a 200 from /readyz", async () => {
  let status = 200;
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seen.push(new URL(req.url).pathname);
    return new Response(null, { status });
  });
  try {
    const port = String(server.addr.port);
    assert.equal(await isReady(port), true);
    status = 503;
    assert.equal(await isReady(port), false);
    assert.deepEqual(seen, ["/readyz", "/readyz"]);
  } finally {
    await server.shutdown();
  }
  assert.equal(await isReady(String(server.addr.port)), false, "nothing listening");
});

Deno.test("deploy/grafana/recio.json queries only metric families that /metrics exports", async () => {
  const dash = JSON.parse(
    await Deno.readTextFile(new URL("./grafana/recio.json", import.meta.url)),
  );
  const exprs: string[] = dash.panels.flatMap((p: { targets: { expr: string }[] }) =>
    p.targets.map((t) => t.expr)
  );
  const used = new Set(exprs.flatMap((e) => e.match(/recio_[a-z_]+/g) ?? []));
  const text = renderMetrics(fixedView("n"), 0);
  const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
  assert.ok(used.size >= 15);
  for (const name of used) assert.ok(exported.has(name), `${name} is not exported`);
});

Deno.test("deploy/Containerfile and deploy/recio.service run main.ts with the start task's runtime flags", async () => {
  const task: string = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)))
    .tasks.start;
  // Flags that change how the heart runs (not its permissions, which each deployment narrows).
  const runtime = task.split(/\s+/).filter((w) => w === "--no-code-cache");
  assert.deepEqual(
    runtime,
    ["--no-code-cache"],
    "the start task runs the heart without code cache",
  );
  const unit = await Deno.readTextFile(new URL("./recio.service", import.meta.url));
  const exec = /^ExecStart=(.*)$/m.exec(unit)![1]!.split(/\s+/);
  const container = await Deno.readTextFile(new URL("./Containerfile", import.meta.url));
  const entry = JSON.parse(
    /^ENTRYPOINT (\[[^\]]*\])/ms.exec(container)![1]!.replaceAll("\\\n", ""),
  ) as string[];
  for (const [name, words] of [["recio.service", exec], ["Containerfile", entry]] as const) {
    assert.equal(words.at(-1)?.endsWith("main.ts"), true, `${name} runs main.ts`);
    for (const flag of runtime) assert.ok(words.includes(flag), `${name} passes ${flag}`);
  }
});
