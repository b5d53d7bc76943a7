// Argo CD neither watches nor syncs the kinds argocd-cm `resource.exclusions` lists: synth refuses
// an object of such a kind unless the cluster's ArgoCd lifts the exclusion for it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { AcmeClusterIssuer, LETS_ENCRYPT } from '../../constructs/certificates/acme-cluster-issuer.js';
import { ArgoCd, type ArgoCdProps } from '../../constructs/gitops/argocd.js';
import {
  ARGOCD_RESOURCE_EXCLUSIONS,
  type ArgoCdResourceFilter,
  filterMatches,
  globPattern,
  liftExclusions,
  resourceExclusionsPolicy,
} from '../../constructs/gitops/resource-exclusions.js';
import { CONTROL_PLANE_ENDPOINTS_KIND } from '../../constructs/monitoring/control-plane.js';
import type { PolicyObject } from '../../framework/cluster.js';
import { registeredPolicies } from '../../framework/cluster.js';
import type { Manifest } from '../../framework/model.js';
import { projectRoot } from '../helpers/io.js';
import { renderScope } from '../helpers/render.js';

const INSTALL = join(
  projectRoot,
  '..',
  'shared',
  'upstream',
  'raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/ha/install.yaml',
);

const object = (manifest: Manifest): PolicyObject => ({
  app: 'monitoring',
  manifest,
  origin: { constructPath: `lab/monitoring/${manifest.kind}` },
});
const slice = object({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'kube-scheduler-ipv4', namespace: 'kube-system' },
});
const endpoints = object({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'legacy', namespace: 'kube-system' } });
const event = object({ apiVersion: 'v1', kind: 'Event', metadata: { name: 'made-up', namespace: 'default' } });
const service = object({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'kube-scheduler', namespace: 'kube-system' } });
const install = ARGOCD_RESOURCE_EXCLUSIONS['v3.5.1'] ?? [];

/** ArgoCd rendered as app argocd of cluster lab, with its registered policies. */
function render(overrides: Partial<ArgoCdProps> = {}) {
  const rendered = renderScope(
    (chart) => {
      const issuer = new AcmeClusterIssuer(chart, 'letsencrypt-prod', {
        server: LETS_ENCRYPT.production,
        email: 'acme@example.org',
        solver: { type: 'http01-ingress', ingressClassName: 'traefik' },
      });
      return new ArgoCd(chart, 'argocd', { url: 'https://gitops.example.org', issuer, rbac: { operatorGroups: ['ops'] }, ...overrides });
    },
    { app: 'argocd' },
  );
  const policy = registeredPolicies(rendered.built).find((candidate) => candidate.name === 'argocd.resource-exclusions');
  const configMap = rendered.app.patches.find((patch) => patch.target.kind === 'ConfigMap' && patch.target.name === 'argocd-cm')?.patch as
    | { data: Record<string, string> }
    | undefined;
  return { ...rendered, policy, data: configMap?.data ?? {} };
}

describe('Argo CD resource exclusions', () => {
  it("holds the pinned install's list exactly", () => {
    const configMap = parseAllDocuments(readFileSync(INSTALL, 'utf8'))
      .map((document) => document.toJS())
      .find((manifest) => manifest?.kind === 'ConfigMap' && manifest.metadata?.name === 'argocd-cm');
    expect(parse(configMap.data['resource.exclusions'])).toEqual(install);
  });

  it('matches as Argo CD does: globs for groups and clusters, names or * for kinds, an empty list for all', () => {
    expect(globPattern('*.k8s.io').test('discovery.k8s.io')).toBe(true);
    expect(globPattern('*.k8s.io').test('cilium.io')).toBe(false);
    expect(globPattern('{cilium,kyverno}.io').test('kyverno.io')).toBe(true);
    expect(globPattern('metrics.k8s.io').test('metricsXk8s.io')).toBe(false);
    expect(globPattern('cert-manager.i?').test('cert-manager.io')).toBe(true);
    expect(globPattern('[!a]pps').test('apps')).toBe(false);
    expect(filterMatches({ apiGroups: [''] }, { group: '', kind: 'ConfigMap' })).toBe(true);
    expect(filterMatches({ kinds: ['*'] }, { group: 'apps', kind: 'Deployment' })).toBe(true);
    expect(filterMatches({ kinds: ['Deploy*'] }, { group: 'apps', kind: 'Deployment' })).toBe(false);
    expect(filterMatches({ kinds: ['Lease'], clusters: ['https://remote.*'] }, { group: 'coordination.k8s.io', kind: 'Lease' })).toBe(
      false,
    );
  });

  it('refuses an object of an excluded kind with its construct path and the fix', () => {
    const problems = resourceExclusionsPolicy(install, "the install's list").check([slice, service, endpoints, event]);
    expect(problems.map((problem) => [problem.origin.constructPath, problem.object?.kind, problem.rule])).toEqual([
      ['lab/monitoring/EndpointSlice', 'EndpointSlice', 'argocd.excluded-resource'],
      ['lab/monitoring/Endpoints', 'Endpoints', 'argocd.excluded-resource'],
      ['lab/monitoring/Event', 'Event', 'argocd.excluded-resource'],
    ]);
    expect(problems[0]?.message).toBe(
      "is a discovery.k8s.io EndpointSlice, which the install's list exclude: Argo CD would never apply it (the app only shows an ExcludedResourceWarning); render another kind, or list { group: 'discovery.k8s.io', kind: 'EndpointSlice' } in ArgoCd's syncExcludedKinds",
    );
    expect(problems[2]?.message).toContain('which Argo CD never syncs (its core exclusions)');
  });

  it('lifts one kind of one group and keeps the rest of its entry', () => {
    const { exclusions, errors } = liftExclusions(install, [CONTROL_PLANE_ENDPOINTS_KIND]);
    expect(errors).toEqual([]);
    expect(exclusions.slice(0, 2)).toEqual([
      { apiGroups: [''], kinds: ['Endpoints', 'EndpointSlice'] },
      { apiGroups: ['discovery.k8s.io'], kinds: ['Endpoints'] },
    ]);
    expect(exclusions.slice(2)).toEqual(install.slice(1));
    expect(
      resourceExclusionsPolicy(exclusions, 'x')
        .check([slice, endpoints])
        .map((problem) => problem.object?.kind),
    ).toEqual(['Endpoints']);
  });

  it('refuses to lift a kind that is not excluded, one Argo CD always excludes, or one a pattern covers', () => {
    const patterned: ArgoCdResourceFilter[] = [{ apiGroups: ['*.k8s.io'], kinds: ['EndpointSlice'] }];
    expect(liftExclusions(install, [{ group: 'apps', kind: 'Deployment', reason: 'r' }]).errors).toEqual([
      "syncExcludedKinds: the install's resource.exclusions do not exclude apps Deployment: remove it from the list",
    ]);
    expect(liftExclusions(install, [{ group: '', kind: 'Event', reason: 'r' }]).errors).toEqual([
      'syncExcludedKinds: Argo CD always excludes core Event (its core exclusions): render another kind',
    ]);
    expect(liftExclusions(patterned, [CONTROL_PLANE_ENDPOINTS_KIND]).errors[0]).toMatch(
      /excluded by the pattern entry .*cannot be narrowed/,
    );
  });

  it("leaves argocd-cm's list to the install by default and registers the check", () => {
    const { data, policy, messages } = render();
    expect(messages).toEqual([]);
    expect(data['resource.exclusions']).toBeUndefined();
    expect(policy?.check([slice])).toHaveLength(1);
  });

  it('writes the lifted list to argocd-cm and checks against it', () => {
    const { data, policy, messages } = render({ syncExcludedKinds: [CONTROL_PLANE_ENDPOINTS_KIND] });
    expect(messages).toEqual([]);
    const written = parse(data['resource.exclusions'] ?? '') as ArgoCdResourceFilter[];
    expect(written).toEqual(liftExclusions(install, [CONTROL_PLANE_ENDPOINTS_KIND]).exclusions);
    expect(written.some((filter) => filterMatches(filter, { group: 'discovery.k8s.io', kind: 'EndpointSlice' }))).toBe(false);
    expect(written.some((filter) => filterMatches(filter, { group: '', kind: 'Endpoints' }))).toBe(true);
    expect(policy?.check([slice])).toEqual([]);
  });

  it('asks for the list of a release it does not know, and for a reason', () => {
    const unknown = render({ version: 'v9.9.9', repoServerTools: { kustomize: '5.8.1', helm: ['4.2.1'] } }).messages;
    expect(unknown).toContainEqual(
      'no resource.exclusions known for Argo CD v9.9.9: pass resourceExclusions, the list in argocd-cm of https://raw.githubusercontent.com/argoproj/argo-cd/v9.9.9/manifests/ha/install.yaml',
    );
    expect(render({ syncExcludedKinds: [{ ...CONTROL_PLANE_ENDPOINTS_KIND, reason: ' ' }] }).messages).toEqual([
      'syncExcludedKinds: discovery.k8s.io/EndpointSlice needs a reason',
    ]);
  });
});
