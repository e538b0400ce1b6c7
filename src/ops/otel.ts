// OpenTelemetry, loaded only when OTEL_EXPORTER_OTLP_ENDPOINT is set (ops/tracing.ts imports
// this module dynamically). Three kinds of spans, one trace per request:
// - the HTTP request: a server span opened by the front door around the request's handling,
//   named by its route template once known (`GET /api/v1/customers/{id}`, `POST /graphql`);
// - the GraphQL operation: @envelop/opentelemetry (no document, variables or results in the
//   attributes: they may carry customer data);
// - the database statements: Prisma's own instrumentation (@prisma/instrumentation).
// Context flows through AsyncLocalStorage (the Node tracer provider's context manager).
import { useOpenTelemetry } from '@envelop/opentelemetry';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVICE_NAME,
} from '@opentelemetry/semantic-conventions';
import { PrismaInstrumentation } from '@prisma/instrumentation';
import type { Tracing } from './tracing.js';

/** Registers the global tracer provider, the Prisma instrumentation and an OTLP/HTTP exporter. */
export function startOpenTelemetry(endpoint: string, serviceName: string): Tracing {
  const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  provider.register();
  const unregister = registerInstrumentations({ tracerProvider: provider, instrumentations: [new PrismaInstrumentation()] });
  const tracer = provider.getTracer('customer-gateway');
  return {
    request(method, handle) {
      // Named and routed by the template (the semantic conventions' low-cardinality name); the
      // raw path is left out: it may hold a customer's external id.
      const span = tracer.startSpan(method, { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: method } });
      context.with(trace.setSpan(context.active(), span), handle);
      return {
        end(route, status) {
          span.updateName(`${method} ${route}`);
          span.setAttribute(ATTR_HTTP_ROUTE, route);
          span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
          if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        },
      };
    },
    graphqlPlugins: [useOpenTelemetry({ resolvers: false, variables: false, result: false, document: false }, provider)],
    async shutdown() {
      unregister();
      await provider.shutdown();
    },
  };
}
