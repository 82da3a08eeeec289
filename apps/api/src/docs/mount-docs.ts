import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { openApiDocument } from './openapi';

/** `/_docs`: Swagger UI over the generated OpenAPI 3.1 document (`/_docs/json`, `/_docs/yaml`). */
export async function mountDocs(fastify: FastifyInstance): Promise<void> {
  await fastify.register(fastifySwagger, { mode: 'static', specification: { document: openApiDocument() as never } });
  await fastify.register(fastifySwaggerUi, { routePrefix: '/_docs' });
}
