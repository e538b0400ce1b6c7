-- A resumed subscription's replay reads an organisation's events since its cursor through this
-- index, not the organisation's whole log (src/events/log-reads.ts).
-- On a large event log, an operator can build it first without blocking writes:
--   CREATE INDEX CONCURRENTLY customer_events_org_id_txid_idx ON customer_events (org_id, txid);
-- and this migration then finds it in place.
-- CreateIndex
CREATE INDEX IF NOT EXISTS "customer_events_org_id_txid_idx" ON "customer_events"("org_id", "txid");
