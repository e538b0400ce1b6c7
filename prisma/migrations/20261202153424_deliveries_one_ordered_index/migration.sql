-- DropIndex
DROP INDEX "webhook_deliveries_endpoint_id_id_idx";
