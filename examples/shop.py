"""The example app `make dev` serves: Inngest-style functions, unchanged but for the import."""

from __future__ import annotations

import datetime

from compat import inngest

client = inngest.Inngest(app_id="shop")


def fetch_user(user_id: str) -> dict:
    return {"id": user_id, "name": f"user-{user_id}", "plan": "pro"}


def sync_to_crm(user: dict) -> dict:
    return {"synced": True, "crm_id": f"crm-{user['id']}"}


@client.create_function(fn_id="sync-user", trigger=inngest.TriggerEvent(event="user/created"))
async def sync_user(ctx: inngest.Context) -> dict:
    user = await ctx.step.run("fetch-user", fetch_user, ctx.event.data["id"])
    await ctx.step.sleep("wait-for-sync", datetime.timedelta(seconds=2))
    return await ctx.step.run("sync-crm", sync_to_crm, user)


@client.create_function(fn_id="approve-document", trigger=inngest.TriggerEvent(event="doc/submitted"))
async def approve_document(ctx: inngest.Context) -> dict:
    doc_id = ctx.event.data["doc_id"]
    await ctx.step.run("notify-reviewer", lambda: {"notified": doc_id})
    approval = await ctx.step.wait_for_event(
        "wait-for-approval",
        event="doc/approved",
        if_exp="async.data.doc_id == event.data.doc_id",
        timeout=datetime.timedelta(hours=24),
    )
    if approval is None:
        return {"doc_id": doc_id, "status": "expired"}
    return {"doc_id": doc_id, "status": "approved", "by": approval.data.get("reviewer")}


@client.create_function(fn_id="nightly-report", trigger=inngest.TriggerCron(cron="TZ=Europe/Paris 0 3 * * *"))
def nightly_report(ctx: inngest.ContextSync) -> dict:
    total = ctx.step.run("count-orders", lambda: 42)
    return {"orders": total}
