// Tracing is opt-in (SPEC section 12): with OTEL_EXPORTER_OTLP_ENDPOINT set, OpenTelemetry
// spans for each HTTP request, GraphQL operation and database statement are exported over
// OTLP/HTTP (ops/otel.ts). Unset, nothing of OpenTelemetry is even loaded: ops/otel.ts is
// imported dynamically, and the front door calls the no-op below, which costs a function call.
import type { Logger } from './logger.js';

/** The server span of one HTTP request, ended with its route template and status. */
export interface RequestSpan {
  end(route: string, status: number): void;
}

export interface Tracing {
  /** Runs `handle` inside a new server span for an HTTP request (database and GraphQL spans become its children). */
  request(method: string, handle: () => void): RequestSpan;
  /** Envelop plugins that trace GraphQL operations (each typed by its own context, as Yoga's `plugins` allows). */
  readonly graphqlPlugins: readonly object[];
  /** Exports the spans still buffered and stops. */
  shutdown(): Promise<void>;
}

const NO_SPAN: RequestSpan = { end() {} };

/** Tracing off. */
export const NO_TRACING: Tracing = {
  request(_method, handle) {
    handle();
    return NO_SPAN;
  },
  graphqlPlugins: [],
  shutdown: async () => {},
};

export interface TracingConfig {
  /** OTLP/HTTP base URL (spans go to `<endpoint>/v1/traces`); undefined turns tracing off. */
  otelEndpoint: string | undefined;
  /** `service.name` of the spans. */
  otelServiceName: string;
}

/** Starts process-wide tracing when configured; otherwise returns NO_TRACING without loading OpenTelemetry. */
export async function startTracing(config: TracingConfig, log: Logger): Promise<Tracing> {
  if (!config.otelEndpoint) return NO_TRACING;
  const { startOpenTelemetry } = await import('./otel.js');
  const tracing = startOpenTelemetry(config.otelEndpoint, config.otelServiceName);
  log.info({ endpoint: config.otelEndpoint, serviceName: config.otelServiceName }, 'tracing: exporting spans over OTLP/HTTP');
  return tracing;
}
