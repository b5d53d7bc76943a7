import type { Construct } from 'constructs';
import { KustomizePatch } from './kustomize-patch.js';

/**
 * Requests and limits of one container, as plain quantities: for chart values and for patches
 * on upstream workloads, which take JSON rather than the typed model's Quantity objects.
 * Memory is always requested and limited; CPU is requested only (a CPU limit throttles a
 * container that the node has room for).
 */
export interface ContainerResources {
  readonly requests: { readonly memory: string; readonly cpu?: string };
  readonly limits: { readonly memory: string; readonly cpu?: string };
}

/** `cpu` requested, `memory` requested and `memoryLimit` as the limit. */
export function containerResources(cpu: string, memory: string, memoryLimit: string): ContainerResources {
  return { requests: { cpu, memory }, limits: { memory: memoryLimit } };
}

const SUFFIXES: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The value of a Kubernetes quantity (`128Mi`, `0.5`, `100m`, `1e3`), or undefined when it does not parse. */
export function quantityValue(text: string): number | undefined {
  const match = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE])|[eE]([+-]?\d+))?$/.exec(text);
  if (!match) return undefined;
  const [, number = '', suffix = '', exponent] = match;
  return Number(number) * (exponent === undefined ? (SUFFIXES[suffix] ?? 1) : 10 ** Number(exponent));
}

/** What is wrong with a container's resources (the API server refuses each of these), or undefined. */
/** Resources as a manifest may state them, any quantity absent. */
export interface StatedResources {
  readonly requests: { readonly memory?: string | undefined; readonly cpu?: string | undefined };
  readonly limits: { readonly memory?: string | undefined; readonly cpu?: string | undefined };
}

export function containerResourcesError(resources: StatedResources): string | undefined {
  const quantities: [string, string | undefined][] = [
    ['requests.memory', resources.requests.memory],
    ['requests.cpu', resources.requests.cpu],
    ['limits.memory', resources.limits.memory],
    ['limits.cpu', resources.limits.cpu],
  ];
  for (const [path, value] of quantities) {
    if (value === undefined) continue;
    const parsed = quantityValue(value);
    if (parsed === undefined) return `${path} "${value}" is not a quantity (for example 128Mi or 100m)`;
    if (parsed < 0) return `${path} "${value}" is negative`;
  }
  for (const resource of ['memory', 'cpu'] as const) {
    const request = resources.requests[resource];
    const limit = resources.limits[resource];
    if (request === undefined || limit === undefined) continue;
    if ((quantityValue(request) ?? 0) > (quantityValue(limit) ?? 0)) {
      return `requests.${resource} ${request} is more than limits.${resource} ${limit}: the API server refuses it`;
    }
  }
  return undefined;
}

export interface WorkloadResourcesProps {
  /** The upstream workload: `Deployment`, `StatefulSet`, `DaemonSet` (group apps) or `Job` (group batch). */
  readonly kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job';
  readonly name: string;
  /** Resources by container name. */
  readonly containers?: Readonly<Record<string, ContainerResources>>;
  /** Resources by init container name. */
  readonly initContainers?: Readonly<Record<string, ContainerResources>>;
}

/**
 * Sets the resources of the containers of an upstream workload the app does not render itself
 * (a pinned manifest): a strategic-merge patch, which matches containers by name and keeps
 * everything else of them. The construct's path names any container whose resources are wrong.
 */
export function workloadResources(scope: Construct, id: string, props: WorkloadResourcesProps): KustomizePatch {
  const group = props.kind === 'Job' ? 'batch' : 'apps';
  const list = (entries: Readonly<Record<string, ContainerResources>> | undefined) =>
    Object.entries(entries ?? {}).map(([name, resources]) => ({ name, resources }));
  const patch = new KustomizePatch(scope, id, {
    target: { group, version: 'v1', kind: props.kind, name: props.name },
    patch: {
      apiVersion: `${group}/v1`,
      kind: props.kind,
      metadata: { name: props.name },
      spec: {
        template: {
          spec: {
            ...(props.initContainers ? { initContainers: list(props.initContainers) } : {}),
            ...(props.containers ? { containers: list(props.containers) } : {}),
          },
        },
      },
    },
  });
  patch.node.addValidation({
    validate: () =>
      [...list(props.initContainers), ...list(props.containers)].flatMap(({ name, resources }) => {
        const error = containerResourcesError(resources);
        return error ? [`${props.kind} ${props.name}: container "${name}": ${error}`] : [];
      }),
  });
  return patch;
}
