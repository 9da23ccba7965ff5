// The daemon endpoints `shoal service ...` and `shoal node ps` use, typed with
// the shared Docker model. Answers are checked for their outer form only, as in
// api.ts: a daemon answering something else fails loudly here.

import { array, object, seg } from './answers.js';
import type { Node, Service, ServiceSpec, Task } from '../../shared/model/index.js';
import type { ServiceCreateResponse, ServiceUpdateResponse } from '../../manager/api/backend.js';
import { encodeFilters, type Filters } from '../format/filters.js';
import type { DaemonClient } from '../http-client.js';


export class ServiceApi {
  constructor(readonly client: DaemonClient) {}

  /** registryAuth: X-Registry-Auth (`--with-registry-auth`). */
  async createService(spec: ServiceSpec, registryAuth?: string): Promise<ServiceCreateResponse> {
    const headers = registryAuth === undefined ? {} : { headers: { 'x-registry-auth': registryAuth } };
    return object<ServiceCreateResponse>(await this.client.request('POST', '/services/create', { body: spec, ...headers }), 'POST /services/create');
  }

  async listServices(filters: Filters = {}, status = false): Promise<Service[]> {
    const query = { filters: encodeFilters(filters), ...(status ? { status: true } : {}) };
    return array<Service>(await this.client.get('/services', query), 'GET /services');
  }

  async inspectService(ref: string, insertDefaults = false): Promise<Service> {
    const query = insertDefaults ? { insertDefaults: true } : undefined;
    return object<Service>(await this.client.get(`/services/${seg(ref)}`, query), `GET /services/${ref}`);
  }

  async updateService(id: string, version: number, spec: ServiceSpec, rollback = false, registryAuth?: string): Promise<ServiceUpdateResponse> {
    const query = { version, ...(rollback ? { rollback: 'previous' } : {}) };
    const headers = registryAuth === undefined ? {} : { headers: { 'x-registry-auth': registryAuth } };
    return object<ServiceUpdateResponse>(
      await this.client.request('POST', `/services/${seg(id)}/update`, { body: spec, query, ...headers }),
      `POST /services/${id}/update`,
    );
  }

  /** GET /distribution/{name}/json: what the registry says `image` names (registryAuth: X-Registry-Auth). */
  async distributionInspect(image: string, registryAuth?: string): Promise<{ Descriptor: { digest: string } }> {
    const headers = registryAuth === undefined ? {} : { headers: { 'x-registry-auth': registryAuth } };
    return object<{ Descriptor: { digest: string } }>(await this.client.request('GET', `/distribution/${image}/json`, headers), `GET /distribution/${image}/json`);
  }

  async removeService(ref: string): Promise<void> {
    await this.client.delete(`/services/${seg(ref)}`);
  }

  async listTasks(filters: Filters): Promise<Task[]> {
    return array<Task>(await this.client.get('/tasks', { filters: encodeFilters(filters) }), 'GET /tasks');
  }

  async listNodes(): Promise<Node[]> {
    return array<Node>(await this.client.get('/nodes'), 'GET /nodes');
  }

  async inspectNode(ref: string): Promise<Node> {
    return object<Node>(await this.client.get(`/nodes/${seg(ref)}`), `GET /nodes/${ref}`);
  }
}
