// A stock Inngest TypeScript SDK app (npm `inngest`, unmodified), served with `inngest/node`.
// Configured the stock way: INNGEST_DEV / INNGEST_BASE_URL point it at the gateway; PORT.
import http from "node:http";
import { Inngest } from "inngest";
import { serve } from "inngest/node";

const appId = process.env.BRIDGE_APP_ID || "bridge-ts";
const port = Number(process.env.PORT || 3939);

const inngest = new Inngest({ id: appId });

const child = inngest.createFunction(
  { id: "child", triggers: [{ event: `${appId}/child` }] },
  async ({ event, step }) => {
    const sq = await step.run("square", async () => event.data.x * event.data.x);
    return { sq };
  },
);

const journey = inngest.createFunction(
  { id: "journey", triggers: [{ event: `${appId}/journey` }], retries: 1 },
  async ({ event, step }) => {
    const greeting = await step.run("greet", async () => `hello ${event.data.name}`);
    await step.sleep("nap", "1s");
    const go = await step.waitForEvent("wait-go", {
      event: `${appId}/go`,
      timeout: "30s",
      if: "async.data.id == event.data.id",
    });
    const invoked = await step.invoke("call-child", {
      function: child,
      data: { x: event.data.x },
    });
    return { greeting, go: go ? go.data : null, invoked };
  },
);

const handler = serve({ client: inngest, functions: [child, journey] });

http
  .createServer((req, res) => {
    if (req.url && req.url.startsWith("/api/inngest")) {
      return handler(req, res);
    }
    res.writeHead(404).end();
  })
  .listen(port, "127.0.0.1", () => {
    console.log(`listening on ${port}`);
  });
