/**
 * Worker entry of `strike_coordinator`: wiring only.
 *
 * @module
 */
import { runActor } from "../_runtime.ts";
import { createSql } from "../../lib/db.ts";
import { writeJsonAtomic } from "./files.ts";
import { parseActorArgs } from "../../schema/actor_args.ts";
import { createStrikeCoordinator } from "./mod.ts";
import { createCoordinatorStore } from "./store.ts";

runActor((ctx) => {
  const settings = parseActorArgs("strike_coordinator", ctx.args);
  if (!ctx.databaseUrl) throw new Error("Cannot start strike_coordinator: no database URL");
  const sql = createSql(ctx.databaseUrl, { max: 2, applicationName: `recio-${ctx.id}` });
  return createStrikeCoordinator(ctx, {
    store: createCoordinatorStore(sql, settings.symbol),
    settings,
    writeJson: writeJsonAtomic,
    // postgres.js keeps one more connection of this pool for LISTEN, and re-listens after a drop.
    listen: (channel, onPayload, onListen) => sql.listen(channel, onPayload, onListen),
    close: () => sql.end({ timeout: 2 }),
  });
});
