// /tasks, /tasks/{id}.

import type { FastifyInstance } from 'fastify';
import type { ApiBackend } from '../backend.js';
import { parseFilters, validateTaskFilters } from '../filters.js';
import { inspectTaskSchema, listTasksSchema } from '../schemas/service.js';

export function registerTaskRoutes(server: FastifyInstance, backend: ApiBackend): void {
  server.get<{ Querystring: { filters?: string } }>('/tasks', { schema: listTasksSchema }, async (request) => {
    // Bad filter names and states are the caller's mistake: 400 before the backend is asked.
    const filters = parseFilters(request.query.filters);
    validateTaskFilters(filters);
    return backend.listTasks(filters);
  });

  server.get<{ Params: { id: string } }>('/tasks/:id', { schema: inspectTaskSchema }, async (request) =>
    backend.inspectTask(request.params.id),
  );
}
