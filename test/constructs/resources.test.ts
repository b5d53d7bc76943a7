import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { AcmeClusterIssuer, LETS_ENCRYPT } from '../../constructs/certificates/acme-cluster-issuer.js';
import { CertManager } from '../../constructs/certificates/cert-manager.js';
import { containerResources, containerResourcesError, quantityValue, workloadResources } from '../../constructs/core/resources.js';
import { ARGOCD_RESOURCES, ARGOCD_VERSION, ArgoCd } from '../../constructs/gitops/argocd.js';
import type { AppChart } from '../../framework/app-chart.js';
import { renderScope } from '../helpers/render.js';
import { MIRROR } from '../upstream/helpers.js';

/** The problems of rendering `build` as app `app` of cluster `lab`, as `construct/path: message`. */
const validationErrors = (app: string, build: (chart: AppChart) => void): string[] => renderScope(build, { app }).problems;

describe('container resources', () => {
  it('reads Kubernetes quantities', () => {
    expect(quantityValue('128Mi')).toBe(128 * 2 ** 20);
    expect(quantityValue('100m')).toBeCloseTo(0.1);
    expect(quantityValue('1.5Gi')).toBe(1.5 * 2 ** 30);
    expect(quantityValue('1e3')).toBe(1000);
    expect(quantityValue('2k')).toBe(2000);
    expect(quantityValue('128MB')).toBeUndefined();
    expect(quantityValue('lots')).toBeUndefined();
  });

  it('refuses what the API server refuses: a request above its limit, a quantity that does not parse', () => {
    expect(containerResourcesError(containerResources('10m', '64Mi', '128Mi'))).toBeUndefined();
    expect(containerResourcesError(containerResources('10m', '256Mi', '128Mi'))).toBe(
      'requests.memory 256Mi is more than limits.memory 128Mi: the API server refuses it',
    );
    expect(containerResourcesError(containerResources('10m', '64MB', '128Mi'))).toBe(
      'requests.memory "64MB" is not a quantity (for example 128Mi or 100m)',
    );
  });

  it('names the construct, workload and container of a bad patch on an upstream workload', () => {
    const errors = validationErrors('web', (chart) =>
      workloadResources(chart, 'sizes', {
        kind: 'Deployment',
        name: 'controller',
        containers: { manager: containerResources('10m', '1Gi', '512Mi') },
      }),
    );
    expect(errors).toEqual([
      'lab/web/sizes: Deployment controller: container "manager": requests.memory 1Gi is more than limits.memory 512Mi: the API server refuses it',
    ]);
  });

  it('sizes every container of the Argo CD install, and refuses an override for a container it does not have', () => {
    const argocd = (resources?: Record<string, ReturnType<typeof containerResources>>) =>
      validationErrors(
        'argocd',
        (chart) =>
          new ArgoCd(chart, 'argocd', {
            url: 'https://argocd.example.test',
            issuer: new AcmeClusterIssuer(chart, 'letsencrypt-prod', {
              server: LETS_ENCRYPT.production,
              email: 'acme@example.org',
              solver: { type: 'http01-ingress', ingressClassName: 'traefik' },
            }),
            rbac: { operatorGroups: ['operators'] },
            ...(resources ? { resources } : {}),
          }),
      );
    expect(argocd()).toEqual([]);
    expect(argocd({ 'argocd-server/argocd-server': containerResources('50m', '256Mi', '1Gi') })).toEqual([]);
    expect(argocd({ 'argocd-server/server': containerResources('50m', '256Mi', '1Gi') })).toEqual([
      expect.stringMatching(
        /^lab\/argocd\/argocd: resources: "argocd-server\/server" is no container of the install; known: argocd-application-controller/,
      ),
    ]);
    expect(argocd({ 'argocd-server/argocd-server': containerResources('50m', '2Gi', '1Gi') })).toEqual([
      'lab/argocd/argocd/Resources-argocd-server: Deployment argocd-server: container "argocd-server": requests.memory 2Gi is more than limits.memory 1Gi: the API server refuses it',
    ]);
  });

  it('has an entry for exactly the containers of the pinned install manifest (and the KSOPS init container)', () => {
    const install = readFileSync(
      join(MIRROR, 'raw.githubusercontent.com/argoproj/argo-cd', ARGOCD_VERSION, 'manifests/ha/install.yaml'),
      'utf8',
    );
    const containers = parseAllDocuments(install).flatMap((document) => {
      const object = document.toJS() as {
        kind?: string;
        metadata?: { name?: string };
        spec?: { template?: { spec?: Record<string, { name: string }[]> } };
      };
      if (object?.kind !== 'Deployment' && object?.kind !== 'StatefulSet') return [];
      const spec = object.spec?.template?.spec ?? {};
      return [...(spec.initContainers ?? []), ...(spec.containers ?? [])].map((c) => `${object.metadata?.name}/${c.name}`);
    });
    expect(Object.keys(ARGOCD_RESOURCES).sort()).toEqual([...containers, 'argocd-repo-server/install-ksops'].sort());
  });

  it('checks cert-manager resource overrides', () => {
    const errors = validationErrors(
      'cert-manager',
      (chart) => new CertManager(chart, 'cert-manager', { resources: { webhook: containerResources('1', '1Gi', '64Mi') } }),
    );
    expect(errors).toEqual([
      'lab/cert-manager/cert-manager: resources.webhook: requests.memory 1Gi is more than limits.memory 64Mi: the API server refuses it',
    ]);
  });
});
