// Request schemas of /nodes (definitions NodeSpec in docker-engine-api-v1.56.yaml).

import { idParams, labels, object, oneOf, query, string, type JsonSchema } from './common.js';

export const NODE_ROLES = ['worker', 'manager'] as const;
export const NODE_AVAILABILITIES = ['active', 'pause', 'drain'] as const;

/**
 * dockerd answers `invalid Role: ""` when Role or Availability is missing, so both are
 * required in practice; the docker CLI always sends the whole spec it read.
 */
export const nodeSpecSchema: JsonSchema = object(
  {
    Name: string,
    Labels: labels,
    Role: oneOf(NODE_ROLES),
    Availability: oneOf(NODE_AVAILABILITIES),
  },
  ['Role', 'Availability'],
);

export const listNodesSchema = { querystring: query(['filters']) };
export const inspectNodeSchema = { params: idParams };
export const updateNodeSchema = { params: idParams, querystring: query(['version']), body: nodeSpecSchema };
export const removeNodeSchema = { params: idParams, querystring: query(['force']) };
