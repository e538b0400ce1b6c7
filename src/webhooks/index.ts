// The webhook parts of one instance, wired from the configuration: endpoint management (used by
// GraphQL and the CLI) and the sender (started with the instance, stopped by services.close()).
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../ops/logger.js';
import type { NetworkPolicy } from './address-policy.js';
import { WebhookEndpoints } from './endpoints.js';
import { SecretBox } from './secret-box.js';
import { WebhookSender } from './sender.js';
import { WebhookTransport } from './transport.js';

export interface Webhooks {
  endpoints: WebhookEndpoints;
  /** Null when WEBHOOK_CONCURRENCY=0 (this instance sends nothing). */
  sender: WebhookSender | null;
  /** Starts the sender (if any); returns at once, the sender keeps retrying on its own. */
  start(): void;
  close(): Promise<void>;
}

export type WebhookConfig = Pick<
  Config,
  | 'webhookAllowInsecure'
  | 'webhookAllowPrivateNetworks'
  | 'webhookSecretKey'
  | 'webhookTimeoutMs'
  | 'webhookConcurrency'
  | 'webhookPipelining'
>;

/** The network policy of the configuration (SPEC section 10 safety rules and their two escape hatches). */
export function networkPolicyOf(config: WebhookConfig): NetworkPolicy {
  return { allowInsecure: config.webhookAllowInsecure, allowPrivateNetworks: config.webhookAllowPrivateNetworks };
}

/** Builds the webhook parts; nothing runs until start(). */
export function createWebhooks(
  config: WebhookConfig,
  db: Database,
  options: { now: () => Date; log: Logger; random?: () => number },
): Webhooks {
  const policy = networkPolicyOf(config);
  const box = new SecretBox(config.webhookSecretKey);
  if (!box.encrypts) options.log.info('webhook secrets are stored unencrypted: set WEBHOOK_SECRET_KEY to encrypt them at rest');
  const endpoints = new WebhookEndpoints(db.prisma, box, policy, options.now);
  const sender =
    config.webhookConcurrency > 0
      ? new WebhookSender(db, box, new WebhookTransport(policy, { pipelining: config.webhookPipelining }), {
          concurrency: config.webhookConcurrency,
          timeoutMs: config.webhookTimeoutMs,
          now: options.now,
          log: options.log,
          ...(options.random ? { random: options.random } : {}),
        })
      : null;
  return {
    endpoints,
    sender,
    start() {
      sender?.start();
    },
    async close() {
      await sender?.close();
    },
  };
}
