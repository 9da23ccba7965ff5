// Request schemas of /networks (definition NetworkCreateRequest in
// docker-engine-api-v1.56.yaml). Go clients send nil maps and slices as
// null, so those fields accept null as well; unknown fields are dropped.
import { boolean, idParams, type JsonSchema, query, string } from './common.js';

const nullableLabels: JsonSchema = { type: ['object', 'null'], additionalProperties: string };

function nullableObject(properties: Record<string, JsonSchema>): JsonSchema {
  return { type: ['object', 'null'], properties, additionalProperties: false };
}

const ipamConfig = nullableObject({ Subnet: string, IPRange: string, Gateway: string, AuxiliaryAddresses: nullableLabels });

export const createNetworkSchema = {
  body: {
    type: 'object',
    properties: {
      Name: string,
      Driver: string,
      Scope: string,
      Internal: boolean,
      Attachable: boolean,
      Ingress: boolean,
      EnableIPv6: { type: ['boolean', 'null'] },
      IPAM: nullableObject({ Driver: string, Config: { type: ['array', 'null'], items: ipamConfig }, Options: nullableLabels }),
      Options: nullableLabels,
      Labels: nullableLabels,
    },
    additionalProperties: false,
  },
};
export const listNetworksSchema = { querystring: query(['filters']) };
export const inspectNetworkSchema = { params: idParams, querystring: query(['verbose', 'scope']) };
export const removeNetworkSchema = { params: idParams };
