// The webhook parts of one instance, wired from the configuration: endpoint management (used by
// GraphQL and the CLI) and the sender (started with the instance, stopped by services.close()).
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../ops/logger.js';
import type { NetworkPolicy } from './address-policy.js';
import { WebhookEndpoints } from './endpoints.js';
import { SecretBox } from './secret-box.js';
import { WebhookSender, type SenderHandle } from './sender.js';
import { ThreadedSender } from './sender-thread.js';
import { WebhookTransport } from './transport.js';

export interface Webhooks {
  endpoints: WebhookEndpoints;
  /** Null when WEBHOOK_CONCURRENCY=0 (this instance sends nothing); inline or in its own thread (sender-thread.ts). */
  sender: SenderHandle | null;
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
  | 'webhookSenderThread'
>;

/** The network policy of the configuration (SPEC section 10 safety rules and their two escape hatches). */
export function networkPolicyOf(config: WebhookConfig): NetworkPolicy {
  return { allowInsecure: config.webhookAllowInsecure, allowPrivateNetworks: config.webhookAllowPrivateNetworks };
}

interface SenderDeps {
  now: () => Date;
  log: Logger;
  random?: () => number;
}

/** The sender running in the calling thread (also what the sender's own thread runs). */
export function inlineSender(config: WebhookConfig, db: Database, box: SecretBox, options: SenderDeps): WebhookSender {
  return new WebhookSender(db, box, new WebhookTransport(networkPolicyOf(config), { pipelining: config.webhookPipelining }), {
    concurrency: config.webhookConcurrency,
    timeoutMs: config.webhookTimeoutMs,
    now: options.now,
    log: options.log,
    ...(options.random ? { random: options.random } : {}),
  });
}

/**
 * Builds the webhook parts; nothing runs until start(). The sender gets a thread of its own when
 * configured and the database can be reached from one (PostgreSQL); it then runs on the real
 * clock, so tests that inject one (`now`, `random`) keep it inline (WEBHOOK_SENDER_THREAD=false).
 */
export function createWebhooks(config: WebhookConfig & Pick<Config, 'logLevel'>, db: Database, options: SenderDeps): Webhooks {
  const policy = networkPolicyOf(config);
  const box = new SecretBox(config.webhookSecretKey);
  if (!box.encrypts) options.log.info('webhook secrets are stored unencrypted: set WEBHOOK_SECRET_KEY to encrypt them at rest');
  const endpoints = new WebhookEndpoints(db.prisma, box, policy, options.now);
  const sender =
    config.webhookConcurrency === 0
      ? null
      : config.webhookSenderThread && db.postgres
        ? new ThreadedSender({ config: senderThreadConfig(config), postgres: db.postgres }, db, options.log)
        : inlineSender(config, db, box, options);
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

/** The part of the configuration the sender's thread receives (the secret key included: it signs). */
function senderThreadConfig(config: WebhookConfig & Pick<Config, 'logLevel'>): WebhookConfig & Pick<Config, 'logLevel'> {
  return {
    webhookAllowInsecure: config.webhookAllowInsecure,
    webhookAllowPrivateNetworks: config.webhookAllowPrivateNetworks,
    webhookSecretKey: config.webhookSecretKey,
    webhookTimeoutMs: config.webhookTimeoutMs,
    webhookConcurrency: config.webhookConcurrency,
    webhookPipelining: config.webhookPipelining,
    webhookSenderThread: config.webhookSenderThread,
    logLevel: config.logLevel,
  };
}
