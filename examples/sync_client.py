#!/usr/bin/env python3
"""つなぎ (Tsunagi) と機関のシステムを同期する最小の例 / a minimal agency-system sync client.

Python 3.8+ の標準ライブラリだけで動きます / standard library only.

    python3 examples/sync_client.py --url http://127.0.0.1:8080 --token "$TOKEN" \\
        --system kaigo-v3 --records examples/records.json --state sync-state.json --once

手順 / the loop (README §14):
  1. 初回の投入: 手元の各人を upsertPerson(ref: {system, externalId: 手元の ID}) で送る。
     Idempotency-Key つきなので、タイムアウト後の再送は二重に作らない。
     Initial load: every local person goes up with upsertPerson under the local id; each
     request carries an Idempotency-Key, so a retry after a timeout never creates twice.
  2. 変更フィード: changes(after: 前回のカーソル) をページごとに読み、イベントごとに記録を
     通常のクエリで読み直す。カーソルは処理のあとで保存する（少なくとも 1 回の処理）。
     The feed: read changes(after: the saved cursor) page by page, re-read each event's record
     through the ordinary queries, and save the cursor after processing (at-least-once).
  3. CONSENT_REQUIRED: その区分を見る根拠（同意）がない。値は null で返り、本人に同意を
     求めるか、あきらめる。再送しても変わらない。
     CONSENT_REQUIRED: no basis (consent) for that category; the value is null. Ask the
     person for consent; retrying does not help.
"""

import argparse
import hashlib
import json
import sys
import time
import urllib.error
import urllib.request

UPSERT = """mutation Upsert($ref: ExternalRefInput!, $input: CreatePersonInput!) {
  upsertPerson(ref: $ref, input: $input) { created changed person { id version } }
}"""

FEED = """query Feed($after: String) {
  changes(first: 200, after: $after) {
    edges { cursor node { recordType recordId operation categories committedAt } }
    pageInfo { endCursor hasNextPage }
  }
}"""

PERSON = """query Person($id: ID!) {
  person(id: $id) { id familyNameKana givenNameKana phone externalRefs { system externalId } }
}"""


class HubError(Exception):
    pass


def post(url, token, query, variables, idempotency_key=None, attempts=5):
    """POST /graphql; retries transport errors, 5xx, 429 and 409 idempotency_key_in_flight
    with backoff. Only requests with an Idempotency-Key (or queries) are safe to retry."""
    body = json.dumps({"query": query, "variables": variables}).encode("utf-8")
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + token}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    delay = 0.2
    for attempt in range(attempts):
        req = urllib.request.Request(url + "/graphql", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                replayed = r.headers.get("Idempotent-Replayed") == "true"
                return json.loads(r.read().decode("utf-8")), replayed
        except urllib.error.HTTPError as e:
            answer = json.loads(e.read().decode("utf-8") or "{}")
            retry = e.code >= 500 or e.code == 429 or e.code == 409
            if not retry or attempt == attempts - 1:
                raise HubError("HTTP %d: %s" % (e.code, json.dumps(answer, ensure_ascii=False)))
        except urllib.error.URLError:
            if attempt == attempts - 1:
                raise
        time.sleep(delay)
        delay *= 2
    raise HubError("unreachable")


def load_state(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return {"cursor": None}


def save_state(path, state):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(state, f)
    # The rename is atomic: a crash leaves the old cursor or the new one.
    import os
    os.replace(path + ".tmp", path)


def initial_load(args, records):
    created = unchanged = updated = 0
    for rec in records:
        local_id = rec["id"]
        person = rec["person"]
        # The same local record with the same content gives the same key: a retry (or a re-run)
        # is answered from the hub's stored response without a second effect.
        digest = hashlib.sha256(json.dumps(person, sort_keys=True).encode("utf-8")).hexdigest()[:16]
        key = "%s:%s:%s" % (args.system, local_id, digest)
        answer, replayed = post(args.url, args.token, UPSERT,
                                {"ref": {"system": args.system, "externalId": local_id},
                                 "input": person}, idempotency_key=key)
        if answer.get("errors"):
            raise HubError(json.dumps(answer["errors"], ensure_ascii=False))
        u = answer["data"]["upsertPerson"]
        if u["created"] and not replayed:
            created += 1
        elif u["changed"] and not replayed:
            updated += 1
        else:
            unchanged += 1
    print("initial load: %d created, %d updated, %d unchanged" % (created, updated, unchanged))


def follow_feed(args, state):
    events = 0
    while True:
        answer, _ = post(args.url, args.token, FEED, {"after": state["cursor"]})
        if answer.get("errors"):
            raise HubError(json.dumps(answer["errors"], ensure_ascii=False))
        page = answer["data"]["changes"]
        for edge in page["edges"]:
            ev = edge["node"]
            events += 1
            line = "event %s %s %s %s" % (ev["operation"], ev["recordType"], ev["recordId"],
                                          ",".join(ev["categories"]))
            if ev["recordType"] == "PERSON":
                p, _ = post(args.url, args.token, PERSON, {"id": ev["recordId"]})
                for err in p.get("errors") or []:
                    ext = err.get("extensions", {})
                    if ext.get("code") == "CONSENT_REQUIRED":
                        line += " | consent required for %s" % ext.get("category")
                    elif ext.get("code") == "NOT_FOUND":
                        line += " | no longer visible"
                person = (p.get("data") or {}).get("person")
                if person:
                    mine = [r["externalId"] for r in person["externalRefs"] if r["system"] == args.system]
                    line += " | local id %s" % (mine[0] if mine else "-")
            print(line)
        # Save after processing the page: a crash re-reads it (at-least-once, never a gap).
        if page["pageInfo"]["endCursor"]:
            state["cursor"] = page["pageInfo"]["endCursor"]
            save_state(args.state, state)
        if not page["pageInfo"]["hasNextPage"]:
            if args.once:
                print("feed: %d events; caught up at %s" % (events, state["cursor"]))
                return
            time.sleep(args.poll)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--token", required=True)
    ap.add_argument("--system", required=True, help="this agency system's name, e.g. kaigo-v3")
    ap.add_argument("--records", help="JSON list of {id, person} to load first")
    ap.add_argument("--state", default="sync-state.json", help="where the feed cursor is kept")
    ap.add_argument("--once", action="store_true", help="stop when the feed is caught up")
    ap.add_argument("--poll", type=float, default=2.0, help="seconds between polls when caught up")
    args = ap.parse_args()
    state = load_state(args.state)
    if args.records:
        with open(args.records, encoding="utf-8") as f:
            initial_load(args, json.load(f))
    follow_feed(args, state)


if __name__ == "__main__":
    try:
        main()
    except HubError as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(1)
