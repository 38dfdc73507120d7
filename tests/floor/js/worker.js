// The JS floor (see ../README.md): router → Durable Object → one SQLite upsert → 200.
import { DurableObject } from "cloudflare:workers";

export class Floor extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS beat (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  }

  async fetch(request) {
    const body = await request.text();
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO beat (id, body) VALUES (1, ?)", body);
    return new Response('{"ok":true}', { headers: { "Content-Type": "application/json" } });
  }
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/healthz" && request.method === "GET") {
      return new Response('{"ok":true}', { headers: { "Content-Type": "application/json" } });
    }
    if (pathname === "/api/heartbeat" && request.method === "POST") {
      const body = await request.text();
      let id;
      try {
        id = JSON.parse(body).serviceId;
      } catch {
        // answered 400 below
      }
      if (typeof id !== "string" || id === "") {
        return new Response("serviceId required", { status: 400 });
      }
      return env.FLOOR.get(env.FLOOR.idFromName(id)).fetch("https://floor/", { method: "POST", body });
    }
    return new Response("not found", { status: 404 });
  }
};
