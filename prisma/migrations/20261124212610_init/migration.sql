-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "CustomerType" AS ENUM ('INDIVIDUAL', 'SOLE_TRADER');

-- CreateEnum
CREATE TYPE "KycStatus" AS ENUM ('NOT_STARTED', 'PENDING', 'IN_PROGRESS', 'VERIFIED', 'FAILED', 'NOT_REQUIRED', 'AWAITING_RESUBMISSION');

-- CreateEnum
CREATE TYPE "AmlStatus" AS ENUM ('NOT_SCREENED', 'IN_PROGRESS', 'CLEAR', 'NEEDS_REVIEW', 'RESOLVED');

-- CreateEnum
CREATE TYPE "AddedVia" AS ENUM ('ADMIN_MANUAL', 'AI_EXTRACTED', 'CONTACT_PORTAL', 'BULK_IMPORT', 'INTEGRATION', 'SYSTEM');

-- CreateEnum
CREATE TYPE "CustomerEventKind" AS ENUM ('CREATED', 'UPDATED', 'ADOPTED', 'KYC', 'AML');

-- CreateTable
CREATE TABLE "organizations" (
    "id" UUID NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "organizations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "key_hash" CHAR(64) NOT NULL,
    "prefix" VARCHAR(12) NOT NULL,
    "last4" VARCHAR(4) NOT NULL,
    "label" VARCHAR(255),
    "scopes" TEXT[],
    "per_minute" INTEGER,
    "per_day" INTEGER,
    "expires_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "customers" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "external_id" VARCHAR(255),
    "type" "CustomerType" NOT NULL DEFAULT 'INDIVIDUAL',
    "full_name" VARCHAR(255) NOT NULL,
    "email" VARCHAR(255),
    "email_key" VARCHAR(255),
    "phone" VARCHAR(32),
    "risk_is_new_customer" BOOLEAN,
    "risk_is_designated_service" BOOLEAN,
    "risk_handles_cash_or_crypto" BOOLEAN,
    "kyc_status" "KycStatus" NOT NULL DEFAULT 'NOT_STARTED',
    "kyc_started_at" TIMESTAMPTZ(3),
    "kyc_completed_at" TIMESTAMPTZ(3),
    "verified_legal_name" VARCHAR(255),
    "verified_country" CHAR(3),
    "aml_status" "AmlStatus" NOT NULL DEFAULT 'NOT_SCREENED',
    "aml_screened_at" TIMESTAMPTZ(3),
    "aml_last_reviewed_at" TIMESTAMPTZ(3),
    "aml_pep" BOOLEAN NOT NULL DEFAULT false,
    "aml_sanctions" BOOLEAN NOT NULL DEFAULT false,
    "aml_adverse_media" BOOLEAN NOT NULL DEFAULT false,
    "aml_terrorism" BOOLEAN NOT NULL DEFAULT false,
    "added_via" "AddedVia" NOT NULL DEFAULT 'INTEGRATION',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "customers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "customer_events" (
    "id" BIGSERIAL NOT NULL,
    "org_id" UUID NOT NULL,
    "customer_id" UUID NOT NULL,
    "kind" "CustomerEventKind" NOT NULL,
    "kyc_from" "KycStatus",
    "kyc_to" "KycStatus",
    "aml_from" "AmlStatus",
    "aml_to" "AmlStatus",
    "snapshot" JSONB NOT NULL,
    "txid" BIGINT NOT NULL DEFAULT ((pg_current_xact_id())::text)::bigint,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "customer_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "idempotency_keys" (
    "org_id" UUID NOT NULL,
    "operation" VARCHAR(300) NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "request_hash" CHAR(64) NOT NULL,
    "status" INTEGER NOT NULL,
    "response" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY ("org_id","operation","key")
);

-- CreateIndex
CREATE UNIQUE INDEX "organizations_name_key" ON "organizations"("name");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "api_keys"("key_hash");

-- CreateIndex
CREATE INDEX "api_keys_org_id_idx" ON "api_keys"("org_id");

-- CreateIndex
CREATE INDEX "customers_org_id_created_at_id_idx" ON "customers"("org_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "customers_org_id_updated_at_id_idx" ON "customers"("org_id", "updated_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "customers_org_id_external_id_key" ON "customers"("org_id", "external_id");

-- CreateIndex
CREATE UNIQUE INDEX "customers_org_id_email_key_key" ON "customers"("org_id", "email_key");

-- CreateIndex
CREATE INDEX "customer_events_org_id_customer_id_id_idx" ON "customer_events"("org_id", "customer_id", "id" DESC);

-- CreateIndex
CREATE INDEX "customer_events_txid_id_idx" ON "customer_events"("txid", "id");

-- CreateIndex
CREATE INDEX "customer_events_occurred_at_idx" ON "customer_events"("occurred_at");

-- CreateIndex
CREATE INDEX "idempotency_keys_expires_at_idx" ON "idempotency_keys"("expires_at");

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "customers" ADD CONSTRAINT "customers_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "customer_events" ADD CONSTRAINT "customer_events_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
