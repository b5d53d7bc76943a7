import { describe, expect, it } from 'vitest';
import { namespaceEnforceLevel, type PodSecurityLevel, podSecurityViolations, podSpecOf } from '../../framework/rules/pod-security.js';

type Spec = Record<string, unknown>;

/** A pod that meets the restricted level; tests change one thing at a time. */
function hardened(): Spec {
  return {
    securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'app',
        image: 'example.org/app:1.0.0',
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
    volumes: [{ name: 'config', configMap: { name: 'app' } }],
  };
}
const deployment = (spec: Spec) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'app' }, spec: { template: { spec } } });
const rules = (spec: Spec, level: PodSecurityLevel) => podSecurityViolations(deployment(spec), level).map((v) => [v.rule, v.path]);
const container = (spec: Spec) => (spec.containers as Spec[])[0] as Spec;
const context = (spec: Spec) => container(spec).securityContext as Spec;

describe('Pod Security Standards', () => {
  it('finds the pod spec of each workload kind, with its path', () => {
    expect(podSpecOf({ apiVersion: 'v1', kind: 'Pod', spec: { containers: [] } })?.path).toBe('spec');
    expect(podSpecOf(deployment({ containers: [] }))?.path).toBe('spec.template.spec');
    expect(podSpecOf({ apiVersion: 'apps/v1', kind: 'DaemonSet', spec: { template: { spec: {} } } })?.path).toBe('spec.template.spec');
    expect(podSpecOf({ apiVersion: 'batch/v1', kind: 'CronJob', spec: { jobTemplate: { spec: { template: { spec: {} } } } } })?.path).toBe(
      'spec.jobTemplate.spec.template.spec',
    );
    expect(podSpecOf({ apiVersion: 'extensions/v1beta1', kind: 'Deployment', spec: { template: { spec: {} } } })).toBeUndefined();
    expect(podSpecOf({ apiVersion: 'v1', kind: 'ConfigMap' })).toBeUndefined();
  });

  it('passes a hardened pod at every level', () => {
    for (const level of ['privileged', 'baseline', 'restricted'] as const) expect(rules(hardened(), level)).toEqual([]);
  });

  it('passes a plain pod at baseline and lists what restricted needs', () => {
    const plain = { containers: [{ name: 'app', image: 'example.org/app:1.0.0' }] };
    expect(rules(plain, 'baseline')).toEqual([]);
    expect(rules(plain, 'restricted')).toEqual([
      ['allow-privilege-escalation', 'spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation'],
      ['run-as-non-root', 'spec.template.spec.containers[0].securityContext.runAsNonRoot'],
      ['seccomp', 'spec.template.spec.containers[0].securityContext.seccompProfile.type'],
      ['capabilities', 'spec.template.spec.containers[0].securityContext.capabilities.drop'],
    ]);
  });

  const baselineCases: [string, (spec: Spec) => void, string, string][] = [
    ['privileged', (s) => Object.assign(context(s), { privileged: true }), 'privileged', 'containers[0].securityContext.privileged'],
    ['host network', (s) => Object.assign(s, { hostNetwork: true }), 'host-namespaces', 'hostNetwork'],
    ['host PID', (s) => Object.assign(s, { hostPID: true }), 'host-namespaces', 'hostPID'],
    ['a hostPath volume', (s) => (s.volumes as Spec[]).push({ name: 'root', hostPath: { path: '/' } }), 'host-path', 'volumes[1].hostPath'],
    [
      'a host port',
      (s) => Object.assign(container(s), { ports: [{ containerPort: 80, hostPort: 80 }] }),
      'host-ports',
      'containers[0].ports[0].hostPort',
    ],
    [
      'SYS_ADMIN',
      (s) => Object.assign(context(s), { capabilities: { drop: ['ALL'], add: ['SYS_ADMIN'] } }),
      'capabilities',
      'containers[0].securityContext.capabilities.add',
    ],
    [
      'an unconfined seccomp profile',
      (s) => Object.assign(context(s), { seccompProfile: { type: 'Unconfined' } }),
      'seccomp',
      'containers[0].securityContext.seccompProfile.type',
    ],
    [
      'an unmasked /proc',
      (s) => Object.assign(context(s), { procMount: 'Unmasked' }),
      'proc-mount',
      'containers[0].securityContext.procMount',
    ],
    [
      'a custom SELinux type',
      (s) => Object.assign(context(s), { seLinuxOptions: { type: 'spc_t' } }),
      'selinux',
      'containers[0].securityContext.seLinuxOptions.type',
    ],
    [
      'an unconfined AppArmor profile',
      (s) => Object.assign(context(s), { appArmorProfile: { type: 'Unconfined' } }),
      'apparmor',
      'containers[0].securityContext.appArmorProfile.type',
    ],
    [
      'an unsafe sysctl',
      (s) => Object.assign(s.securityContext as Spec, { sysctls: [{ name: 'kernel.msgmax', value: '1' }] }),
      'sysctls',
      'securityContext.sysctls[0]',
    ],
    [
      'a Windows host process',
      (s) => Object.assign(context(s), { windowsOptions: { hostProcess: true } }),
      'host-process',
      'containers[0].securityContext.windowsOptions.hostProcess',
    ],
  ];
  it.each(baselineCases)('baseline refuses %s, naming the container and how to fix it', (_what, change, rule, path) => {
    const spec = hardened();
    change(spec);
    const found = podSecurityViolations(deployment(spec), 'baseline');
    expect(found.map((v) => [v.rule, v.path])).toEqual([[rule, `spec.template.spec.${path}`]]);
    expect(found[0]?.message).toMatch(/which the baseline level forbids; .+ or label the namespace pod-security\.kubernetes\.io\/enforce/);
    if (path.startsWith('containers')) expect(found[0]?.message).toContain('container "app"');
    // Privileged allows everything.
    expect(podSecurityViolations(deployment(spec), 'privileged')).toEqual([]);
  });

  it('accepts what baseline allows: safe sysctls, default capabilities, RuntimeDefault profiles', () => {
    const spec = hardened();
    Object.assign(spec.securityContext as Spec, { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] });
    Object.assign(context(spec), { capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] }, seLinuxOptions: { type: 'container_t' } });
    expect(rules(spec, 'restricted')).toEqual([]);
  });

  const restrictedCases: [string, (spec: Spec) => void, string, string][] = [
    [
      'privilege escalation',
      (s) => Object.assign(context(s), { allowPrivilegeEscalation: true }),
      'allow-privilege-escalation',
      'containers[0].securityContext.allowPrivilegeEscalation',
    ],
    ['running as root', (s) => Object.assign(s.securityContext as Spec, { runAsUser: 0 }), 'run-as-user', 'securityContext.runAsUser'],
    [
      'a container allowed to run as root',
      (s) => Object.assign(context(s), { runAsNonRoot: false }),
      'run-as-non-root',
      'containers[0].securityContext.runAsNonRoot',
    ],
    [
      'no seccomp profile',
      (s) => delete (s.securityContext as Spec).seccompProfile,
      'seccomp',
      'containers[0].securityContext.seccompProfile.type',
    ],
    [
      'capabilities not dropped',
      (s) => Object.assign(context(s), { capabilities: {} }),
      'capabilities',
      'containers[0].securityContext.capabilities.drop',
    ],
    [
      'an added CHOWN',
      (s) => Object.assign(context(s), { capabilities: { drop: ['ALL'], add: ['CHOWN'] } }),
      'capabilities',
      'containers[0].securityContext.capabilities.add',
    ],
    [
      'an NFS volume',
      (s) => (s.volumes as Spec[]).push({ name: 'data', nfs: { server: 'nas', path: '/x' } }),
      'volume-types',
      'volumes[1].nfs',
    ],
  ];
  it.each(restrictedCases)('restricted refuses %s, and baseline allows it', (_what, change, rule, path) => {
    const spec = hardened();
    change(spec);
    expect(rules(spec, 'restricted')).toEqual([[rule, `spec.template.spec.${path}`]]);
    expect(rules(spec, 'baseline')).toEqual([]);
  });

  it('checks init containers too, and takes runAsNonRoot and seccomp from the pod', () => {
    const spec = hardened();
    spec.initContainers = [
      { name: 'init', image: 'example.org/init:1', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } },
    ];
    expect(rules(spec, 'restricted')).toEqual([]);
    (spec.initContainers as Spec[])[0] = { name: 'init', image: 'example.org/init:1' };
    expect(rules(spec, 'restricted').map(([rule]) => rule)).toEqual(['allow-privilege-escalation', 'capabilities']);
  });

  it("reads a namespace's enforce level", () => {
    expect(namespaceEnforceLevel({ metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } })).toBe('baseline');
    expect(namespaceEnforceLevel({ metadata: { name: 'x' } })).toBeUndefined();
  });
});
