/**
 * What the API server (and the kubelet, for probes) refuses in workloads and a few other kinds,
 * that no OpenAPI schema says: the checks of Kubernetes' `pkg/apis/core/validation` and
 * `pkg/apis/apps|batch/validation` that decide whether a sync succeeds. Each finding names its
 * rule (`api.<rule>`), the dotted path in the object, and what to do.
 */
import { isRecord } from '../model.js';
import { dns1123LabelError } from './metadata.js';
import { podSpecOf } from './pod-security.js';
import { selectorMatches } from './selectors.js';

export interface ApiViolation {
  /** `api.selector`, `api.container-name` ... */
  readonly rule: string;
  readonly path: string;
  readonly message: string;
}

type Json = Record<string, unknown>;
const records = (value: unknown): Json[] => (Array.isArray(value) ? value.filter(isRecord) : []);

/**
 * An IANA service name, as Kubernetes checks a port name (`IsValidPortName`): 1 to 15
 * characters, lowercase letters, digits and "-", at least one letter, no "-" at either end or twice in a row.
 */
export function portNameError(name: string): string | undefined {
  if (name.length === 0 || name.length > 15) return 'must be 1 to 15 characters (an IANA service name)';
  if (!/^[-a-z0-9]+$/.test(name)) return 'may hold only lowercase letters, digits and "-" (an IANA service name)';
  if (!/[a-z]/.test(name)) return 'must hold at least one letter (an IANA service name)';
  if (name.startsWith('-') || name.endsWith('-') || name.includes('--')) {
    return 'may not start or end with "-" or hold "--" (an IANA service name)';
  }
  return undefined;
}

/**
 * A Kubernetes resource quantity (`k8s.io/apimachinery/pkg/api/resource.ParseQuantity`): a
 * decimal number, then one suffix of Ki Mi Gi Ti Pi Ei, n u m k M G T P E, or an integer
 * exponent (e3, E-2). `1d`, `1h`, `1.5.5Gi` and `1e1.5` are refused there.
 */
export function quantityError(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'is not a finite number';
  if (typeof value !== 'string') return 'must be a quantity (a string such as 128Mi or 100m, or a number)';
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/.test(value)) return undefined;
  return `"${value}" is not a quantity: a number with one suffix of Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024), n, u, m, k, M, G, T, P, E or an exponent such as e3 (for example 128Mi, 100m, 1.5)`;
}

/** The resource names Kubernetes knows without a domain (`IsStandardResourceName` and the hugepages form). */
const STANDARD_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage', 'storage']);

function resourceNameError(name: string): string | undefined {
  if (STANDARD_RESOURCES.has(name) || /^hugepages-/.test(name) || /^requests\.|^limits\./.test(name)) return undefined;
  // An extended resource: a domain-prefixed name (`nvidia.com/gpu`), not in kubernetes.io.
  if (/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(name)) return undefined;
  return `resource "${name}" is neither cpu, memory, ephemeral-storage nor hugepages-<size>, nor a domain-prefixed extended resource (such as example.com/gpu)`;
}

/** Kinds whose `spec.selector` must select `spec.template.metadata.labels` (apps and core validation). */
const TEMPLATED_WORKLOADS = new Set(['apps/v1/Deployment', 'apps/v1/ReplicaSet', 'apps/v1/StatefulSet', 'apps/v1/DaemonSet']);

function selectorViolations(manifest: Json, out: ApiViolation[]): void {
  const key = `${String(manifest.apiVersion)}/${String(manifest.kind)}`;
  const spec = isRecord(manifest.spec) ? manifest.spec : undefined;
  if (!spec) return;
  const template = isRecord(spec.template) ? spec.template : {};
  const templateMetadata = isRecord(template.metadata) ? template.metadata : {};
  const labels = isRecord(templateMetadata.labels) ? templateMetadata.labels : {};
  if (TEMPLATED_WORKLOADS.has(key) || (key === 'batch/v1/Job' && spec.manualSelector === true)) {
    const selector = spec.selector;
    if (!isRecord(selector)) return;
    const empty =
      Object.keys(isRecord(selector.matchLabels) ? selector.matchLabels : {}).length === 0 &&
      records(selector.matchExpressions).length === 0;
    if (empty) {
      out.push({
        rule: 'api.selector',
        path: 'spec.selector',
        message: 'is empty: a workload selector must name at least one label of its pod template',
      });
    } else if (!selectorMatches(selector, labels)) {
      out.push({
        rule: 'api.selector',
        path: 'spec.selector',
        message: `does not select the pod template's labels (${JSON.stringify(labels)}): the API server refuses it ("selector does not match template labels"); make spec.template.metadata.labels carry every matchLabels pair`,
      });
    }
  }
  if (key === 'v1/ReplicationController' && isRecord(spec.selector)) {
    const selector = spec.selector;
    if (!Object.entries(selector).every(([name, value]) => labels[name] === value)) {
      out.push({ rule: 'api.selector', path: 'spec.selector', message: "does not select the pod template's labels" });
    }
  }
}

/**
 * A CronJob schedule as the API server parses it (robfig/cron's standard parser: five fields or
 * a descriptor such as @daily or `@every 1h`; a TZ= or CRON_TZ= prefix is refused in favour of
 * `spec.timeZone`). Undefined when it parses.
 */
export function cronScheduleError(schedule: string): string | undefined {
  const trimmed = schedule.trim();
  if (/^(CRON_)?TZ=/.test(trimmed)) return 'may not start with TZ= or CRON_TZ=: set spec.timeZone instead';
  if (trimmed.startsWith('@')) {
    if (['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'].includes(trimmed)) return undefined;
    const every = /^@every (.+)$/.exec(trimmed);
    if (every && /^(\d+(\.\d+)?(ns|us|\u00b5s|ms|s|m|h))+$/.test(every[1] as string)) return undefined;
    return `"${schedule}" is not a schedule descriptor (@yearly, @monthly, @weekly, @daily, @hourly, @every <duration>)`;
  }
  const fields = trimmed.split(/\s+/);
  if (fields.length !== 5) return `"${schedule}" must have five fields (minute hour day-of-month month day-of-week), not ${fields.length}`;
  const bounds: readonly [string, number, number, readonly string[]][] = [
    ['minute', 0, 59, []],
    ['hour', 0, 23, []],
    ['day of month', 1, 31, []],
    ['month', 1, 12, ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']],
    ['day of week', 0, 6, ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']],
  ];
  for (const [index, field] of fields.entries()) {
    const [name, min, max, names] = bounds[index] as (typeof bounds)[number];
    const value = (part: string): number | undefined => {
      const named = names.indexOf(part.toUpperCase());
      if (named >= 0) return named + min;
      return /^\d+$/.test(part) ? Number(part) : undefined;
    };
    for (const part of field.split(',')) {
      const match = /^(\*|\?|([^-/]+)(?:-([^-/]+))?)(?:\/(\d+))?$/.exec(part);
      const start = match?.[2] === undefined ? min : value(match[2]);
      const end = match?.[3] === undefined ? (match?.[2] === undefined || match?.[4] !== undefined ? max : start) : value(match[3]);
      const step = match?.[4] === undefined ? 1 : Number(match[4]);
      if (!match || start === undefined || end === undefined || start < min || end > max || start > end || step < 1) {
        return `"${schedule}": ${name} "${part}" is not a value, range or step within ${min}-${max}`;
      }
    }
  }
  return undefined;
}

/** The names of a container's ports. */
function portNames(container: Json): Set<string> {
  return new Set(records(container.ports).flatMap((port) => (typeof port.name === 'string' ? [port.name] : [])));
}

/** The quantities of a resource list (`names`: its keys are resource names), or of single fields. */
function quantities(values: unknown, path: string, out: ApiViolation[], names = true): void {
  if (!isRecord(values)) return;
  for (const [name, value] of Object.entries(values)) {
    const nameError = names ? resourceNameError(name) : undefined;
    if (nameError) out.push({ rule: 'api.resource-name', path: `${path}.${name}`, message: nameError });
    const error = quantityError(value);
    if (error) out.push({ rule: 'api.quantity', path: `${path}.${name}`, message: error });
    else if ((typeof value === 'number' && value < 0) || (typeof value === 'string' && value.startsWith('-'))) {
      out.push({
        rule: 'api.quantity',
        path: `${path}.${name}`,
        message: `${String(value)} is negative: a resource quantity must be 0 or more`,
      });
    }
  }
}

/** Printable ASCII without "=" (Kubernetes 1.34 and later: RelaxedEnvironmentVariableValidation is GA). */
function envNameError(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'an env var needs a name';
  if (!/^[\x20-\x7e]+$/.test(name) || name.includes('=')) return `env var name "${name}" must be printable ASCII without "="`;
  return undefined;
}

function probePort(probe: unknown, path: string, ports: ReadonlySet<string>, container: string, out: ApiViolation[]): void {
  if (!isRecord(probe)) return;
  for (const handler of ['httpGet', 'tcpSocket'] as const) {
    const action = probe[handler];
    if (!isRecord(action) || typeof action.port !== 'string') continue;
    const port = action.port;
    if (/^\d+$/.test(port)) continue;
    if (!ports.has(port)) {
      out.push({
        rule: 'api.probe-port',
        path: `${path}.${handler}.port`,
        message: `names port "${port}", which container ${container} does not declare (it has ${[...ports].join(', ') || 'no named port'}): the kubelet fails the probe on every try`,
      });
    }
  }
}

function podSpecViolations(spec: Json, base: string, out: ApiViolation[]): void {
  const volumes = records(spec.volumes);
  const volumeNames = new Set<string>();
  volumes.forEach((volume, index) => {
    const name = typeof volume.name === 'string' ? volume.name : '';
    const error = dns1123LabelError(name);
    if (error) out.push({ rule: 'api.volume-name', path: `${base}.volumes.${index}.name`, message: `volume name "${name}" ${error}` });
    else if (volumeNames.has(name))
      out.push({ rule: 'api.volume-name', path: `${base}.volumes.${index}.name`, message: `volume "${name}" is listed twice` });
    volumeNames.add(name);
    if (isRecord(volume.emptyDir) && volume.emptyDir.sizeLimit !== undefined) {
      quantities({ sizeLimit: volume.emptyDir.sizeLimit }, `${base}.volumes.${index}.emptyDir`, out, false);
    }
  });
  const containerNames = new Set<string>();
  for (const list of ['initContainers', 'containers', 'ephemeralContainers'] as const) {
    records(spec[list]).forEach((container, index) => {
      const at = `${base}.${list}.${index}`;
      const name = typeof container.name === 'string' ? container.name : '';
      const nameError = dns1123LabelError(name);
      if (nameError) out.push({ rule: 'api.container-name', path: `${at}.name`, message: `container name "${name}" ${nameError}` });
      else if (containerNames.has(name)) {
        out.push({
          rule: 'api.container-name',
          path: `${at}.name`,
          message: `container "${name}" is named twice in the pod (containers and init containers share names)`,
        });
      }
      containerNames.add(name);
      const seenPorts = new Set<string>();
      records(container.ports).forEach((port, portIndex) => {
        const portAt = `${at}.ports.${portIndex}`;
        if (typeof port.name === 'string') {
          const error = portNameError(port.name);
          if (error) out.push({ rule: 'api.port-name', path: `${portAt}.name`, message: `port name "${port.name}" ${error}` });
          else if (seenPorts.has(port.name))
            out.push({
              rule: 'api.port-name',
              path: `${portAt}.name`,
              message: `port name "${port.name}" is used twice in container ${name}`,
            });
          seenPorts.add(port.name);
        }
        if (typeof port.containerPort === 'number' && (port.containerPort < 1 || port.containerPort > 65535)) {
          out.push({ rule: 'api.port', path: `${portAt}.containerPort`, message: `${port.containerPort} is not a port number (1-65535)` });
        }
        if (typeof port.hostPort === 'number' && (port.hostPort < 0 || port.hostPort > 65535)) {
          out.push({
            rule: 'api.port',
            path: `${portAt}.hostPort`,
            message: `${port.hostPort} is not a port number (1-65535, or 0 for none)`,
          });
        }
      });
      const mountPaths = new Set<string>();
      records(container.volumeMounts).forEach((mount, mountIndex) => {
        const mountAt = `${at}.volumeMounts.${mountIndex}`;
        if (typeof mount.name === 'string' && !volumeNames.has(mount.name)) {
          out.push({
            rule: 'api.volume-mount',
            path: `${mountAt}.name`,
            message: `mounts volume "${mount.name}", which the pod does not list in spec.volumes`,
          });
        }
        if (typeof mount.mountPath === 'string') {
          if (mountPaths.has(mount.mountPath))
            out.push({
              rule: 'api.volume-mount',
              path: `${mountAt}.mountPath`,
              message: `${mount.mountPath} is mounted twice in container ${name}`,
            });
          mountPaths.add(mount.mountPath);
        }
      });
      records(container.volumeDevices).forEach((device, deviceIndex) => {
        if (typeof device.name === 'string' && !volumeNames.has(device.name)) {
          out.push({
            rule: 'api.volume-mount',
            path: `${at}.volumeDevices.${deviceIndex}.name`,
            message: `uses volume "${device.name}", which the pod does not list in spec.volumes`,
          });
        }
      });
      records(container.env).forEach((env, envIndex) => {
        const error = envNameError(env.name);
        if (error) out.push({ rule: 'api.env-name', path: `${at}.env.${envIndex}.name`, message: error });
      });
      const resources = isRecord(container.resources) ? container.resources : {};
      quantities(resources.requests, `${at}.resources.requests`, out);
      quantities(resources.limits, `${at}.resources.limits`, out);
      const ports = portNames(container);
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
        probePort(container[probe], `${at}.${probe}`, ports, name, out);
      }
    });
  }
  quantities(spec.overhead, `${base}.overhead`, out);
  if (isRecord(spec.resources)) {
    quantities(spec.resources.requests, `${base}.resources.requests`, out);
    quantities(spec.resources.limits, `${base}.resources.limits`, out);
  }
}

function claimSpecQuantities(spec: unknown, path: string, out: ApiViolation[]): void {
  if (!isRecord(spec) || !isRecord(spec.resources)) return;
  quantities(spec.resources.requests, `${path}.resources.requests`, out);
  quantities(spec.resources.limits, `${path}.resources.limits`, out);
}

/** Everything the API server would refuse in `manifest` that its schema lets through. */
export function apiServerViolations(manifest: Json): ApiViolation[] {
  const out: ApiViolation[] = [];
  selectorViolations(manifest, out);
  const pod = podSpecOf(manifest);
  if (pod) podSpecViolations(pod.spec, pod.path, out);
  const key = `${String(manifest.apiVersion)}/${String(manifest.kind)}`;
  const spec = isRecord(manifest.spec) ? manifest.spec : {};
  if (key === 'batch/v1/CronJob') {
    if (typeof spec.schedule === 'string') {
      const error = cronScheduleError(spec.schedule);
      if (error) out.push({ rule: 'api.cron-schedule', path: 'spec.schedule', message: error });
    }
    if (typeof spec.timeZone === 'string' && !validTimeZone(spec.timeZone)) {
      out.push({
        rule: 'api.cron-schedule',
        path: 'spec.timeZone',
        message: `"${spec.timeZone}" is not a time zone of the tz database (such as Europe/Berlin or Etc/UTC)`,
      });
    }
  }
  if (key === 'v1/PersistentVolumeClaim') claimSpecQuantities(spec, 'spec', out);
  if (key === 'apps/v1/StatefulSet') {
    records(spec.volumeClaimTemplates).forEach((template, index) => {
      claimSpecQuantities(template.spec, `spec.volumeClaimTemplates.${index}.spec`, out);
    });
  }
  if (key === 'v1/ResourceQuota') quantities(spec.hard, 'spec.hard', out);
  if (key === 'v1/Service') {
    records(spec.ports).forEach((port, index) => {
      if (typeof port.name === 'string' && port.name !== '') {
        const error = dns1123LabelError(port.name);
        if (error) out.push({ rule: 'api.port-name', path: `spec.ports.${index}.name`, message: `port name "${port.name}" ${error}` });
      }
      if (typeof port.targetPort === 'string' && !/^\d+$/.test(port.targetPort)) {
        const error = portNameError(port.targetPort);
        if (error)
          out.push({ rule: 'api.port-name', path: `spec.ports.${index}.targetPort`, message: `target port "${port.targetPort}" ${error}` });
      }
    });
  }
  return out;
}

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return !zone.includes(' ') && zone !== 'Local';
  } catch {
    return false;
  }
}

/** The pod template labels and container port names of a workload, for matching Service target ports. */
export function podTemplatePorts(manifest: Json): { labels: Readonly<Record<string, unknown>>; ports: Set<string> } | undefined {
  const pod = podSpecOf(manifest);
  if (!pod) return undefined;
  const path = pod.path.split('.');
  let template: unknown = manifest;
  for (const key of path.slice(0, -1)) template = isRecord(template) ? template[key] : undefined;
  const metadata =
    isRecord(template) && isRecord(template.metadata) ? template.metadata : isRecord(manifest.metadata) ? manifest.metadata : {};
  const labels = isRecord(metadata.labels) ? metadata.labels : {};
  const ports = new Set<string>();
  for (const list of ['containers', 'initContainers'] as const) {
    for (const container of records(pod.spec[list])) for (const name of portNames(container)) ports.add(name);
  }
  return { labels, ports };
}
