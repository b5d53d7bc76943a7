import { isRecord } from '../model.js';

/** The Pod Security Standards levels, least to most restrictive. */
export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';
export const POD_SECURITY_LEVELS: readonly PodSecurityLevel[] = ['privileged', 'baseline', 'restricted'];

export const ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';
/** Why a namespace enforces less than restricted: required for baseline and privileged. */
export const POD_SECURITY_REASON_ANNOTATION = 'pod-security.homelab-cdk8s.io/reason';

export interface PodSecurityViolation {
  /** Short rule id, e.g. `privileged`, `host-path`, `run-as-non-root`. */
  readonly rule: string;
  /** Dotted path from the manifest root, e.g. `spec.template.spec.containers[0].securityContext.privileged`. */
  readonly path: string;
  readonly message: string;
}

const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  'v1/Pod': ['spec'],
  'v1/ReplicationController': ['spec', 'template', 'spec'],
  'apps/v1/Deployment': ['spec', 'template', 'spec'],
  'apps/v1/ReplicaSet': ['spec', 'template', 'spec'],
  'apps/v1/StatefulSet': ['spec', 'template', 'spec'],
  'apps/v1/DaemonSet': ['spec', 'template', 'spec'],
  'batch/v1/Job': ['spec', 'template', 'spec'],
  'batch/v1/CronJob': ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

/** Where a workload keeps its pod spec, or undefined for kinds that have none. */
export function podSpecOf(manifest: Record<string, unknown>): { spec: Record<string, unknown>; path: string } | undefined {
  const keys = POD_SPEC_PATHS[`${String(manifest.apiVersion)}/${String(manifest.kind)}`];
  if (!keys) return undefined;
  let current: unknown = manifest;
  for (const key of keys) current = isRecord(current) ? current[key] : undefined;
  return isRecord(current) ? { spec: current, path: keys.join('.') } : undefined;
}

/** The enforce level a Namespace declares, as written (undefined when unlabelled). */
export function namespaceEnforceLevel(namespace: Record<string, unknown>): string | undefined {
  const metadata = isRecord(namespace.metadata) ? namespace.metadata : {};
  const labels = isRecord(metadata.labels) ? metadata.labels : {};
  const level = labels[ENFORCE_LABEL];
  return typeof level === 'string' ? level : undefined;
}

const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const RESTRICTED_VOLUMES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'image',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);
const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

function record(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

/**
 * Every violation of the level's rules in a workload's pod spec (restricted includes baseline),
 * as the Kubernetes PodSecurity admission checks them.
 */
export function podSecurityViolations(manifest: Record<string, unknown>, level: PodSecurityLevel): PodSecurityViolation[] {
  const found = podSpecOf(manifest);
  if (!found || level === 'privileged') return [];
  const { spec, path: specPath } = found;
  const out: PodSecurityViolation[] = [];
  const fix = `or label the namespace ${ENFORCE_LABEL} with a level that allows it, with a reason`;
  const add = (rule: string, path: string, what: string, ruleLevel: PodSecurityLevel, remedy: string) =>
    out.push({ rule, path: `${specPath}.${path}`, message: `${what}, which the ${ruleLevel} level forbids; ${remedy}` });
  const podContext = record(spec.securityContext);
  const containers = CONTAINER_LISTS.flatMap((list) =>
    (Array.isArray(spec[list]) ? (spec[list] as unknown[]) : []).map((container, index) => ({
      container: record(container),
      path: `${list}[${index}]`,
      name: String(record(container).name ?? `${list}[${index}]`),
    })),
  );

  // Baseline.
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (spec[field] === true) add('host-namespaces', field, `the pod sets ${field}: true`, 'baseline', `remove it ${fix}`);
  }
  if (record(podContext.windowsOptions).hostProcess === true) {
    add(
      'host-process',
      'securityContext.windowsOptions.hostProcess',
      'the pod runs as a Windows host process',
      'baseline',
      `remove it ${fix}`,
    );
  }
  for (const [index, volume] of (Array.isArray(spec.volumes) ? spec.volumes : []).entries()) {
    if (isRecord(volume) && volume.hostPath !== undefined) {
      add(
        'host-path',
        `volumes[${index}].hostPath`,
        `volume "${String(volume.name)}" mounts a host path`,
        'baseline',
        `use another volume type ${fix}`,
      );
    }
  }
  const checkSeLinux = (options: unknown, at: string, who: string) => {
    const selinux = record(options);
    if (typeof selinux.type === 'string' && !SELINUX_TYPES.has(selinux.type)) {
      add(
        'selinux',
        `${at}.type`,
        `${who} sets the SELinux type "${selinux.type}"`,
        'baseline',
        `use container_t or leave it unset ${fix}`,
      );
    }
    for (const field of ['user', 'role'] as const) {
      if (typeof selinux[field] === 'string' && selinux[field] !== '') {
        add('selinux', `${at}.${field}`, `${who} sets the SELinux ${field}`, 'baseline', `leave it unset ${fix}`);
      }
    }
  };
  const checkAppArmor = (profile: unknown, at: string, who: string) => {
    const type = record(profile).type;
    if (type !== undefined && type !== 'RuntimeDefault' && type !== 'Localhost') {
      add('apparmor', `${at}.type`, `${who} sets the AppArmor profile ${String(type)}`, 'baseline', `use RuntimeDefault ${fix}`);
    }
  };
  const checkSeccompBaseline = (profile: unknown, at: string, who: string) => {
    if (record(profile).type === 'Unconfined') {
      add('seccomp', `${at}.type`, `${who} runs without a seccomp profile (Unconfined)`, 'baseline', `use RuntimeDefault ${fix}`);
    }
  };
  checkSeLinux(podContext.seLinuxOptions, 'securityContext.seLinuxOptions', 'the pod');
  checkAppArmor(podContext.appArmorProfile, 'securityContext.appArmorProfile', 'the pod');
  checkSeccompBaseline(podContext.seccompProfile, 'securityContext.seccompProfile', 'the pod');
  for (const [index, sysctl] of (Array.isArray(podContext.sysctls) ? podContext.sysctls : []).entries()) {
    const name = String(record(sysctl).name);
    if (!SAFE_SYSCTLS.has(name)) {
      add('sysctls', `securityContext.sysctls[${index}]`, `the pod sets the unsafe sysctl ${name}`, 'baseline', `remove it ${fix}`);
    }
  }
  const metadata = record(manifest.metadata);
  const podAnnotations = record(
    specPath === 'spec' ? metadata.annotations : record(record(record(manifest.spec).template).metadata).annotations,
  );
  for (const [key, value] of Object.entries(podAnnotations)) {
    if (!key.startsWith('container.apparmor.security.beta.kubernetes.io/')) continue;
    if (value !== 'runtime/default' && !(typeof value === 'string' && value.startsWith('localhost/'))) {
      out.push({
        rule: 'apparmor',
        path: `metadata.annotations.${key}`,
        message: `the pod sets the AppArmor profile ${String(value)}, which the baseline level forbids; use runtime/default ${fix}`,
      });
    }
  }
  for (const { container, path, name } of containers) {
    const context = record(container.securityContext);
    const who = `container "${name}"`;
    if (context.privileged === true) {
      add(
        'privileged',
        `${path}.securityContext.privileged`,
        `${who} sets securityContext.privileged: true`,
        'baseline',
        `remove it ${fix}`,
      );
    }
    if (record(context.windowsOptions).hostProcess === true) {
      add(
        'host-process',
        `${path}.securityContext.windowsOptions.hostProcess`,
        `${who} runs as a Windows host process`,
        'baseline',
        `remove it ${fix}`,
      );
    }
    const added = Array.isArray(record(context.capabilities).add) ? (record(context.capabilities).add as unknown[]) : [];
    for (const capability of added) {
      if (!BASELINE_CAPABILITIES.has(String(capability))) {
        add(
          'capabilities',
          `${path}.securityContext.capabilities.add`,
          `${who} adds the capability ${String(capability)}`,
          'baseline',
          `drop it ${fix}`,
        );
      }
    }
    for (const [portIndex, port] of (Array.isArray(container.ports) ? container.ports : []).entries()) {
      const hostPort = record(port).hostPort;
      if (typeof hostPort === 'number' && hostPort !== 0) {
        add(
          'host-ports',
          `${path}.ports[${portIndex}].hostPort`,
          `${who} binds host port ${hostPort}`,
          'baseline',
          `use a Service instead ${fix}`,
        );
      }
    }
    if (context.procMount !== undefined && context.procMount !== 'Default') {
      add(
        'proc-mount',
        `${path}.securityContext.procMount`,
        `${who} sets procMount ${String(context.procMount)}`,
        'baseline',
        `leave it Default ${fix}`,
      );
    }
    checkSeLinux(context.seLinuxOptions, `${path}.securityContext.seLinuxOptions`, who);
    checkAppArmor(context.appArmorProfile, `${path}.securityContext.appArmorProfile`, who);
    checkSeccompBaseline(context.seccompProfile, `${path}.securityContext.seccompProfile`, who);
  }
  if (level === 'baseline') return out;

  // Restricted.
  for (const [index, volume] of (Array.isArray(spec.volumes) ? spec.volumes : []).entries()) {
    if (!isRecord(volume)) continue;
    const type = Object.keys(volume).find((key) => key !== 'name');
    if (type !== undefined && type !== 'hostPath' && !RESTRICTED_VOLUMES.has(type)) {
      add(
        'volume-types',
        `volumes[${index}].${type}`,
        `volume "${String(volume.name)}" is of type ${type}`,
        'restricted',
        `use a PersistentVolumeClaim, ConfigMap, Secret, emptyDir or projected volume ${fix}`,
      );
    }
  }
  const windows = record(spec.os).name === 'windows';
  if (podContext.runAsUser === 0) {
    add('run-as-user', 'securityContext.runAsUser', 'the pod runs as user 0 (root)', 'restricted', `set a non-zero runAsUser ${fix}`);
  }
  const podNonRoot = podContext.runAsNonRoot === true;
  const podSeccomp = record(podContext.seccompProfile).type;
  for (const { container, path, name } of containers) {
    const context = record(container.securityContext);
    const who = `container "${name}"`;
    const at = `${path}.securityContext`;
    if (context.allowPrivilegeEscalation !== false && !windows) {
      add(
        'allow-privilege-escalation',
        `${at}.allowPrivilegeEscalation`,
        `${who} does not set allowPrivilegeEscalation: false`,
        'restricted',
        `set it ${fix}`,
      );
    }
    if (context.runAsNonRoot === false || (context.runAsNonRoot !== true && !podNonRoot)) {
      add(
        'run-as-non-root',
        `${at}.runAsNonRoot`,
        `${who} does not run with runAsNonRoot: true (nor does the pod)`,
        'restricted',
        `set it ${fix}`,
      );
    }
    if (context.runAsUser === 0) {
      add('run-as-user', `${at}.runAsUser`, `${who} runs as user 0 (root)`, 'restricted', `set a non-zero runAsUser ${fix}`);
    }
    const seccomp = record(context.seccompProfile).type ?? podSeccomp;
    if (!windows && seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') {
      add(
        'seccomp',
        `${at}.seccompProfile.type`,
        `${who} has no RuntimeDefault or Localhost seccomp profile (nor does the pod)`,
        'restricted',
        `set seccompProfile.type: RuntimeDefault ${fix}`,
      );
    }
    if (windows) continue;
    const capabilities = record(context.capabilities);
    const dropped = Array.isArray(capabilities.drop) ? capabilities.drop.map(String) : [];
    if (!dropped.includes('ALL')) {
      add(
        'capabilities',
        `${at}.capabilities.drop`,
        `${who} does not drop ALL capabilities`,
        'restricted',
        `set capabilities.drop: [ALL] ${fix}`,
      );
    }
    for (const capability of Array.isArray(capabilities.add) ? capabilities.add.map(String) : []) {
      if (capability !== 'NET_BIND_SERVICE' && BASELINE_CAPABILITIES.has(capability)) {
        add(
          'capabilities',
          `${at}.capabilities.add`,
          `${who} adds the capability ${capability}`,
          'restricted',
          `add only NET_BIND_SERVICE ${fix}`,
        );
      }
    }
  }
  return out;
}
