import { describe, expect, it } from 'vitest';
import { workloadPolicy } from '../../constructs/core/workload-policy.js';
import type { PolicyContext, PolicyObject } from '../../framework/cluster.js';
import type { Manifest } from '../../framework/model.js';

const object = (manifest: Manifest, source?: string): PolicyObject => ({
  app: 'web',
  manifest,
  origin: { constructPath: `lab/web/${manifest.kind}`, ...(source ? { source } : {}) },
});
const namespace = (level?: string, reason?: string) =>
  object({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: 'web',
      ...(level ? { labels: { 'pod-security.kubernetes.io/enforce': level } } : {}),
      ...(reason ? { annotations: { 'pod-security.homelab-cdk8s.io/reason': reason } } : {}),
    },
  });
const container = (changes: Record<string, unknown> = {}) => ({
  name: 'app',
  image: 'example.org/app:1.2.3',
  resources: { requests: { memory: '64Mi' }, limits: { memory: '128Mi' } },
  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
  ...changes,
});
const deployment = (changes: Record<string, unknown> = {}, source?: string) =>
  object(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'app', namespace: 'web' },
      spec: {
        template: {
          spec: { securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, containers: [container(changes)] },
        },
      },
    },
    source,
  );
const builtContext: PolicyContext = { syncsAfter: () => true, built: true };
const messages = (objects: PolicyObject[]) => workloadPolicy.check(objects).map((p) => `${p.rule}: ${p.message}`);

describe('the workload policy', () => {
  it('passes a pinned, sized, restricted workload in a restricted namespace', () => {
    expect(messages([namespace('restricted'), deployment()])).toEqual([]);
  });

  it('requires a Pod Security level on every namespace, and a reason below restricted', () => {
    expect(messages([namespace()])).toEqual([
      'policy.workloads.pod-security: has no valid pod-security.kubernetes.io/enforce label (privileged, baseline, restricted): label it restricted, or a lower level with the reason in annotation pod-security.homelab-cdk8s.io/reason',
    ]);
    expect(messages([namespace('privileged')])).toEqual([
      'policy.workloads.pod-security: enforces privileged, below restricted, without a reason: say why in annotation pod-security.homelab-cdk8s.io/reason, or enforce restricted',
    ]);
    expect(messages([namespace('privileged', 'CSI node plugins mount the host')])).toEqual([]);
  });

  it("checks the project's pod templates against their namespace's level", () => {
    const privileged = deployment({
      securityContext: { privileged: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    });
    expect(messages([namespace('restricted'), privileged])).toEqual([
      expect.stringMatching(
        /^policy\.workloads\.pod-security: namespace web enforces restricted: spec\.template\.spec\.containers\[0\]\.securityContext\.privileged: container "app" sets/,
      ),
    ]);
    expect(messages([namespace('privileged', 'a reason'), privileged])).toEqual([]);
  });

  it('refuses floating or missing image tags, and containers without memory requests and limits', () => {
    expect(messages([namespace('restricted'), deployment({ image: 'nginx:latest' })])).toEqual([
      'policy.workloads.image: spec.template.spec.containers[0]: container "app" runs image "nginx:latest" uses the floating tag "latest": pin a release tag or a digest',
    ]);
    expect(messages([namespace('restricted'), deployment({ image: 'nginx' })])).toEqual([
      'policy.workloads.image: spec.template.spec.containers[0]: container "app" runs image "nginx" has no tag or digest: pin a release tag or a digest',
    ]);
    expect(messages([namespace('restricted'), deployment({ resources: {} })]).map((m) => m.split(': ')[0])).toEqual([
      'policy.workloads.resources',
      'policy.workloads.resources',
    ]);
  });

  it('checks upstream workloads too once the deep build has built them, naming their source', () => {
    const upstream = deployment({ image: 'nginx', resources: {} }, 'upstream https://example.org/x.yaml');
    // Without the deep build, the folder's remote files are not objects of the policy yet.
    expect(messages([namespace('restricted'), upstream])).toEqual([]);
    const built = workloadPolicy.check([namespace('restricted'), upstream], builtContext);
    expect(built.map((p) => `${p.rule} ${p.origin.source}`)).toEqual([
      'policy.workloads.image upstream https://example.org/x.yaml',
      'policy.workloads.resources upstream https://example.org/x.yaml',
      'policy.workloads.resources upstream https://example.org/x.yaml',
    ]);
    const sized = deployment({}, 'upstream https://example.org/x.yaml');
    expect(workloadPolicy.check([namespace('restricted'), sized], builtContext)).toEqual([]);
  });

  it('refuses a credential in a literal env value, and accepts it from a Secret or as a file path', () => {
    const withEnv = (env: unknown[]) => messages([namespace('restricted'), deployment({ env })]);
    expect(withEnv([{ name: 'DB_PASSWORD', value: 'hunter2' }])).toEqual([
      'policy.workloads.secret-env: spec.template.spec.containers[0].env[0]: container "app" sets DB_PASSWORD to a literal value, which lands in git and in the pod spec anyone with read access sees: read it with valueFrom.secretKeyRef from a SopsSecret',
    ]);
    expect(withEnv([{ name: 'GITLAB_API_TOKEN', value: 'glpat-123' }])).toHaveLength(1);
    expect(
      withEnv([
        { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
        { name: 'SOPS_AGE_KEY_FILE', value: '/.config/sops/age/keys.txt' },
        { name: 'DB_PASSWORD_FILE', value: '/run/secrets/db/password' },
        { name: 'LOG_LEVEL', value: 'info' },
        { name: 'DB_PASSWORD', value: '' },
      ]),
    ).toEqual([]);
  });

  it('refuses a powerful role bound to everyone, and accepts it bound to a named group', () => {
    const binding = (subject: Record<string, string>) =>
      object({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'open' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [subject],
      });
    expect(messages([binding({ kind: 'Group', name: 'system:unauthenticated', apiGroup: 'rbac.authorization.k8s.io' })])).toEqual([
      'policy.workloads.rbac: binds ClusterRole cluster-admin to Group system:unauthenticated, which is everyone of its kind: bind it to named users, groups or service accounts',
    ]);
    expect(messages([binding({ kind: 'Group', name: 'system:serviceaccounts' })])).toHaveLength(1);
    expect(messages([binding({ kind: 'Group', name: 'operators' })])).toEqual([]);
  });

  it('refuses requests above limits in any container', () => {
    const over = deployment({ resources: { requests: { memory: '1Gi', cpu: 2 }, limits: { memory: '512Mi' } } });
    expect(messages([namespace('restricted'), over])).toEqual([
      'policy.workloads.resources: spec.template.spec.containers[0]: container "app" requests.memory 1Gi is more than limits.memory 512Mi: the API server refuses it',
    ]);
    const garbled = deployment({ resources: { requests: { memory: '64 MB' }, limits: { memory: '128Mi' } } });
    // A quantity that does not parse is left to the schema check (format "quantity"), which reports it once.
    expect(messages([namespace('restricted'), garbled])).toEqual([]);
    expect(
      messages([namespace('restricted'), deployment({ resources: { requests: { memory: '128Mi' }, limits: { memory: '128Mi' } } })]),
    ).toEqual([]);
  });

  it('refuses a credential passed as a literal command-line value, in either flag form', () => {
    expect(messages([namespace('restricted'), deployment({ args: ['--client-secret=hunter2'] })])).toEqual([
      'policy.workloads.secret-args: spec.template.spec.containers[0].args[0]: container "app" passes --client-secret a literal value, which lands in git and in the pod spec anyone with read access sees: pass it as $(VAR) from an env var with valueFrom.secretKeyRef, or as a file from a SopsSecret volume',
    ]);
    expect(messages([namespace('restricted'), deployment({ command: ['app', '--api-key', 'abc123'] })])).toEqual([
      expect.stringMatching(
        /^policy\.workloads\.secret-args: spec\.template\.spec\.containers\[0\]\.command\[1\]: container "app" passes --api-key/,
      ),
    ]);
    // A reference the kubelet expands from a secretKeyRef env var, a file, or flags that only name one.
    const fine = deployment({
      args: ['--client-secret=$(CLIENT_SECRET)', '--token-ttl=24h', '--secret-name=tls', '--password-file=/etc/app/pw'],
    });
    expect(messages([namespace('restricted'), fine])).toEqual([]);
  });

  it('refuses powerful roles bound to every service account of a namespace, and subject names with stray spaces', () => {
    const binding = (name: string) =>
      object({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'b' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name }],
      });
    expect(messages([binding('system:serviceaccounts:kube-system')])).toEqual([
      'policy.workloads.rbac: binds ClusterRole cluster-admin to Group system:serviceaccounts:kube-system, which is every service account of namespace kube-system: bind it to named users, groups or service accounts',
    ]);
    expect(messages([binding('system:unauthenticated ')]).map((m) => m.split(', ')[1]?.slice(0, 40))).toEqual([
      'a name with leading or trailing spaces: ',
    ]);
    expect(messages([binding('platform-admins')])).toEqual([]);
  });
});
