import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  DEFAULT_AUTH_RESPONSE_HEADERS,
  ForwardAuthMiddleware,
  type ForwardAuthMiddlewareProps,
} from '../../constructs/ingress/forward-auth.js';
import {
  OAUTH2_PROXY_SECRET_KEYS,
  OAUTH2_PROXY_VERSION,
  OAuth2Proxy,
  type OAuth2ProxyProps,
} from '../../constructs/ingress/oauth2-proxy.js';
import { metricsAddon } from '../../constructs/monitoring/service-monitor.js';
import { SopsSecret } from '../../constructs/secrets/sops-secret.js';
import type { Addon } from '../../framework/addons.js';
import { SchemaRegistry } from '../../pipeline/schemas.js';
import { validateObjects } from '../../pipeline/validate.js';
import { renderScope, type TestObject } from '../helpers/render.js';
import { loadExampleKeys, REPO_ROOT, referenceDecrypt } from '../sops/helpers.js';

/** The credentials' file in the app traefik of the default cluster: the SopsSecret's default there. */
const SECRET_FILE = 'secrets/k8s-235/traefik/oauth2-proxy.sops.yaml';
const keys = await loadExampleKeys();

/** OAuth2Proxy and its credentials in the app traefik of the default cluster, rendered as synth renders them. */
function render(
  props: Partial<OAuth2ProxyProps> = {},
  { addons = [metricsAddon], secretNamespace = 'traefik' }: { addons?: readonly Addon[]; secretNamespace?: string } = {},
) {
  const rendered = renderScope(
    (chart) => {
      const credentials = new SopsSecret(chart, 'credentials', { name: 'oauth2-proxy', namespace: secretNamespace });
      const proxy = new OAuth2Proxy(chart, 'oauth2-proxy', {
        namespace: 'traefik',
        oidcIssuerUrl: 'https://gitlab.example.org',
        host: 'auth.example.org',
        cookieDomains: ['.example.org'],
        allowedEmails: ['alice@example.org', 'bob@example.net'],
        trustedProxyCidrs: ['10.244.0.0/16', 'fd00:10:244::/56'],
        credentials,
        ...props,
      });
      return { proxy, credentials };
    },
    { cluster: 'k8s-235', app: 'traefik', addons },
  );
  return { ...rendered, ...rendered.built, errors: rendered.messages };
}

function container(get: (kind: string, name: string) => TestObject) {
  return get('Deployment', 'oauth2-proxy').spec.template.spec.containers[0];
}

describe('OAuth2Proxy', () => {
  it('declares the keys it reads from its credentials, so synth checks the SOPS file holds them', () => {
    const { credentials, get, app } = render();
    expect(credentials.keys).toEqual(['client-id', 'client-secret', 'cookie-secret']);
    const containers: { env?: { valueFrom?: { secretKeyRef?: { key: string } } }[] }[] = get('Deployment', 'oauth2-proxy').spec.template
      .spec.containers;
    const read = containers.flatMap((c) => (c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.key] : [])));
    expect([...new Set(read)].sort()).toEqual([...credentials.keys].sort());
    expect(credentials.file).toBe(SECRET_FILE);
    expect(app.encryptedFiles.map(({ entry }) => [entry.source, entry.keys])).toEqual([[SECRET_FILE, credentials.keys]]);
  });

  it('runs as a reverse proxy behind forward-auth, answering 202 from its static upstream', () => {
    const { get, errors } = render();
    expect(errors).toEqual([]);
    const { image, args } = container(get);
    expect(image).toBe(`quay.io/oauth2-proxy/oauth2-proxy:${OAUTH2_PROXY_VERSION}`);
    expect(args).toEqual(
      expect.arrayContaining([
        '--provider=oidc',
        '--oidc-issuer-url=https://gitlab.example.org',
        '--redirect-url=https://auth.example.org/oauth2/callback',
        '--reverse-proxy=true',
        '--upstream=static://202',
        '--trusted-proxy-ip=10.244.0.0/16',
        '--trusted-proxy-ip=fd00:10:244::/56',
        '--set-xauthrequest=true',
        '--skip-provider-button=true',
        '--http-address=0.0.0.0:4180',
        '--metrics-address=0.0.0.0:44180',
      ]),
    );
    // The user's tokens stay with oauth2-proxy unless an app needs them.
    expect(args).not.toContain('--pass-access-token=true');
    expect(args).not.toContain('--set-authorization-header=true');
  });

  it('passes the tokens on only when asked, and then copies their headers too', () => {
    const { get } = render({ passTokens: true });
    expect(container(get).args).toEqual(expect.arrayContaining(['--pass-access-token=true', '--set-authorization-header=true']));
    expect(get('Middleware', 'forward-auth').spec.forwardAuth.authResponseHeaders).toEqual([
      'X-Auth-Request-User',
      'X-Auth-Request-Email',
      'X-Auth-Request-Access-Token',
      'Authorization',
    ]);
  });

  it('refuses a missing or malformed list of trusted proxy CIDRs', () => {
    expect(render({ trustedProxyCidrs: [] }).proxy.node.validate()).toEqual([
      expect.stringContaining('trustedProxyCidrs is empty: name the pod CIDRs the reverse proxy runs in'),
    ]);
    expect(render({ trustedProxyCidrs: ['10.244.0.0/33', 'traefik'] }).proxy.node.validate()).toEqual([
      expect.stringContaining('trustedProxyCidrs: "10.244.0.0/33" is not a CIDR'),
      expect.stringContaining('trustedProxyCidrs: "traefik" is not a CIDR'),
    ]);
  });

  it('keeps the session in a secure cookie for the cluster domains, refreshed hourly and valid for a week', () => {
    const { get } = render({ whitelistDomains: ['*.example.org'] });
    const { args } = container(get);
    expect(args).toEqual(
      expect.arrayContaining([
        '--cookie-secure=true',
        '--cookie-samesite=lax',
        '--cookie-refresh=1h',
        '--cookie-expire=168h',
        '--cookie-domain=.example.org',
        '--whitelist-domain=*.example.org',
      ]),
    );
    // Without whitelistDomains, browsers may return to any host under the cookie domains.
    expect(container(render().get).args).toContain('--whitelist-domain=.example.org');
  });

  it('admits only the allow-list: the authenticated-emails file is the mounted ConfigMap, and no e-mail domain is set', () => {
    const { get, proxy } = render();
    const { args, env, volumeMounts } = container(get);
    expect(args).toContain('--authenticated-emails-file=/etc/oauth2-proxy/authenticated-emails/emails.txt');
    expect(args.filter((arg: string) => arg.startsWith('--email-domain'))).toEqual([]);
    expect(env.map((variable: { name: string }) => variable.name)).not.toContain('OAUTH2_PROXY_EMAIL_DOMAINS');

    const configMap = get('ConfigMap', 'oauth2-proxy-authenticated-emails');
    expect(configMap.metadata.namespace).toBe('traefik');
    expect(configMap.data).toEqual({ 'emails.txt': 'alice@example.org\nbob@example.net\n' });
    expect(volumeMounts).toEqual([{ name: 'authenticated-emails', mountPath: '/etc/oauth2-proxy/authenticated-emails', readOnly: true }]);
    expect(get('Deployment', 'oauth2-proxy').spec.template.spec.volumes).toEqual([
      { name: 'authenticated-emails', configMap: { name: 'oauth2-proxy-authenticated-emails' } },
    ]);
    expect(proxy.node.validate()).toEqual([]);
  });

  it('rolls the pods when the allow-list changes', () => {
    const checksum = (emails: string[]) =>
      render({ allowedEmails: emails }).get('Deployment', 'oauth2-proxy').spec.template.metadata.annotations[
        'checksum/authenticated-emails'
      ];
    expect(checksum(['alice@example.org'])).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum(['alice@example.org'])).toBe(checksum(['alice@example.org']));
    expect(checksum(['alice@example.org'])).not.toBe(checksum(['alice@example.org', 'carol@example.org']));
  });

  it('reads the client id, client secret and cookie secret from the SOPS Secret', () => {
    const { get } = render();
    expect(container(get).env).toEqual([
      { name: 'OAUTH2_PROXY_CLIENT_ID', valueFrom: { secretKeyRef: { name: 'oauth2-proxy', key: 'client-id' } } },
      { name: 'OAUTH2_PROXY_CLIENT_SECRET', valueFrom: { secretKeyRef: { name: 'oauth2-proxy', key: 'client-secret' } } },
      { name: 'OAUTH2_PROXY_COOKIE_SECRET', valueFrom: { secretKeyRef: { name: 'oauth2-proxy', key: 'cookie-secret' } } },
    ]);
    expect(container(get).args.some((arg: string) => /^--(client-secret|cookie-secret|client-id)=/.test(arg))).toBe(false);
  });

  it('creates the forward-auth Middleware on its own root, trusting forwarded headers and passing identity headers on', () => {
    const { get, proxy } = render();
    const middleware = get('Middleware', 'forward-auth');
    expect(middleware.apiVersion).toBe('traefik.io/v1alpha1');
    expect(middleware.metadata.namespace).toBe('traefik');
    expect(middleware.spec.forwardAuth).toMatchObject({
      address: 'http://oauth2-proxy.traefik.svc.cluster.local/',
      trustForwardHeader: true,
      authResponseHeaders: ['X-Auth-Request-User', 'X-Auth-Request-Email'],
    });
    // The refreshed session cookie (whole or split) reaches the browser through the 202.
    expect(middleware.spec.forwardAuth.addAuthCookiesToResponse).toEqual(expect.arrayContaining(['_oauth2_proxy', '_oauth2_proxy_0']));
    expect(container(get).args).toContain('--cookie-name=_oauth2_proxy');
    expect(proxy.forwardAuth.ref).toEqual({ namespace: 'traefik', name: 'forward-auth' });
    expect(proxy.forwardAuth.providerName).toBe('traefik-forward-auth@kubernetescrd');
    expect(proxy.service.toJson()).toMatchObject({
      metadata: { name: 'oauth2-proxy', namespace: 'traefik' },
      spec: { ports: [{ name: 'http', port: 80 }, { name: 'metrics' }] },
    });
    expect(proxy.host).toBe('auth.example.org');
    expect(proxy.redirectUrl).toBe('https://auth.example.org/oauth2/callback');
  });

  it('follows the provider, cluster domain and middleware name it is given', () => {
    const { get, proxy, errors } = render({ provider: 'gitlab', clusterDomain: 'k8s.internal', middlewareName: 'sso', name: 'sso-proxy' });
    expect(errors).toEqual([]);
    expect(get('Deployment', 'sso-proxy').spec.template.spec.containers[0].args).toEqual(
      expect.arrayContaining(['--provider=gitlab', '--oidc-issuer-url=https://gitlab.example.org']),
    );
    expect(get('Middleware', 'sso').spec.forwardAuth.address).toBe('http://sso-proxy.traefik.svc.k8s.internal/');
    expect(proxy.forwardAuth.providerName).toBe('traefik-sso@kubernetescrd');
  });

  it('runs under the restricted Pod Security Standard without an API token, spread over nodes', () => {
    const { get } = render();
    const serviceAccount = get('ServiceAccount', 'oauth2-proxy');
    expect(serviceAccount.automountServiceAccountToken).toBe(false);
    const pod = get('Deployment', 'oauth2-proxy').spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe('oauth2-proxy');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers[0].securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.containers[0].livenessProbe.httpGet).toMatchObject({ path: '/ping', port: 'http' });
    expect(pod.containers[0].readinessProbe.httpGet).toMatchObject({ path: '/ready', port: 'http' });
    expect(pod.containers[0].resources.requests).toBeDefined();
    expect(pod.topologySpreadConstraints[0]).toMatchObject({
      topologyKey: 'kubernetes.io/hostname',
      maxSkew: 1,
      nodeTaintsPolicy: 'Honor',
    });
    expect(get('Deployment', 'oauth2-proxy').spec.replicas).toBe(2);
    expect(get('PodDisruptionBudget', 'oauth2-proxy').spec.maxUnavailable).toBe(1);
  });

  it('serves HTTP on Service port 80 and metrics for Prometheus', () => {
    const { get, objects } = render();
    const service = get('Service', 'oauth2-proxy');
    expect(service.spec.ports).toEqual([
      { name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' },
      { name: 'metrics', port: 44180, protocol: 'TCP', targetPort: 'metrics' },
    ]);
    expect(container(get).ports).toEqual([
      { name: 'http', containerPort: 4180, protocol: 'TCP' },
      { name: 'metrics', containerPort: 44180, protocol: 'TCP' },
    ]);
    const monitor = get('ServiceMonitor', 'oauth2-proxy');
    expect(monitor.spec.selector.matchLabels).toEqual(service.metadata.labels);
    expect(monitor.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s' }]);
    expect(render({ serviceMonitor: false }).objects.some((o) => o.kind === 'ServiceMonitor')).toBe(false);
    expect(render({}, { addons: [] }).objects.some((o) => o.kind === 'ServiceMonitor')).toBe(false);
    for (const object of objects) {
      expect(object.metadata.name, `${object.kind}`).toBeTruthy();
      expect(object.metadata.namespace, `${object.kind}/${object.metadata.name}`).toBe('traefik');
    }
  });

  it('renders only objects that pass their schemas', async () => {
    for (const props of [{}, { provider: 'gitlab' as const, pkce: false, serviceMonitor: false }]) {
      const { objects, problems: renderProblems } = render(props);
      expect(renderProblems).toEqual([]);
      const { problems } = await validateObjects(
        objects.map((manifest) => ({ manifest, origin: {} })),
        { registry: new SchemaRegistry() },
      );
      expect(problems).toEqual([]);
    }
  });

  it.each([
    [{ image: 'quay.io/oauth2-proxy/oauth2-proxy:latest' }, /floating tag "latest"/],
    [{ image: 'quay.io/oauth2-proxy/oauth2-proxy' }, /has no tag or digest/],
    [{ allowedEmails: [] }, /allowedEmails is empty/],
    [{ allowedEmails: ['alice'] }, /"alice" is not an e-mail address/],
    [{ allowedEmails: ['alice@example.org', 'Alice@example.org'] }, /allowedEmails has duplicates/],
    [{ oidcIssuerUrl: 'http://gitlab.example.org' }, /oidcIssuerUrl .* must be an https URL/],
    [{ oidcIssuerUrl: 'gitlab.example.org' }, /oidcIssuerUrl .* must be an https URL/],
    [{ cookieDomains: [] }, /cookieDomains is empty/],
    [{ host: 'auth.example.com' }, /host "auth.example.com" is outside every cookieDomain/],
    [{ cookieRefresh: '2h', cookieExpire: '1h' }, /cookieRefresh \(2h\) must be shorter than cookieExpire \(1h\)/],
    [{ cookieExpire: 'a week' }, /cookieExpire "a week" is not a Go duration/],
    [{ extraArgs: ['--email-domain=*'] }, /must not set --email-domain/],
    [{ replicas: 0 }, /replicas must be a positive integer/],
  ] as [Partial<OAuth2ProxyProps>, RegExp][])('rejects %j', (props, message) => {
    const { proxy, problems } = render(props);
    expect(proxy.node.validate()).toContainEqual(expect.stringMatching(message));
    // Synth fails, naming the construct path.
    expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^k8s-235/traefik/oauth2-proxy: .*${message.source}`)));
  });

  it('rejects credentials from another namespace', () => {
    const { proxy, problems } = render({}, { secretNamespace: 'default' });
    expect(proxy.node.validate()).toContainEqual('credentials Secret "oauth2-proxy" is in namespace default, not traefik');
    expect(problems).toContainEqual('k8s-235/traefik/oauth2-proxy: credentials Secret "oauth2-proxy" is in namespace default, not traefik');
  });

  it('accepts Go durations and an image pinned by digest', () => {
    const digest = `quay.io/oauth2-proxy/oauth2-proxy@sha256:${'a'.repeat(64)}`;
    for (const props of [
      { cookieRefresh: '30m', cookieExpire: '1h30m', image: digest },
      { cookieRefresh: '0' },
      { cookieRefresh: '1.5h', cookieExpire: '2h0m0s' },
    ]) {
      const { proxy, problems } = render(props);
      expect(proxy.node.validate(), JSON.stringify(props)).toEqual([]);
      expect(problems, JSON.stringify(props)).toEqual([]);
    }
  });
});

describe('ForwardAuthMiddleware', () => {
  /** A ForwardAuthMiddleware alone, in the app edge. */
  const render = (props: ForwardAuthMiddlewareProps) =>
    renderScope((chart) => new ForwardAuthMiddleware(chart, 'auth', props), { app: 'edge' });

  it('defaults to the name forward-auth, trusted forwarded headers and the identity headers', () => {
    const { built: middleware, get, problems } = render({ namespace: 'edge', address: 'http://auth.edge.svc.cluster.local/' });
    expect(middleware.ref).toEqual({ namespace: 'edge', name: 'forward-auth' });
    expect(middleware.providerName).toBe('edge-forward-auth@kubernetescrd');
    expect(get('Middleware', 'forward-auth')).toMatchObject({
      metadata: { name: 'forward-auth', namespace: 'edge' },
      spec: {
        forwardAuth: {
          address: 'http://auth.edge.svc.cluster.local/',
          trustForwardHeader: true,
          authResponseHeaders: [...DEFAULT_AUTH_RESPONSE_HEADERS],
        },
      },
    });
    expect(get('Middleware', 'forward-auth').spec.forwardAuth.addAuthCookiesToResponse).toBeUndefined();
    expect(middleware.node.validate()).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('writes trustForwardHeader out even when false (Traefik v3.7 warns when it is unset)', () => {
    const { get } = render({ namespace: 'edge', address: 'https://auth.example.org/', trustForwardHeader: false });
    expect(get('Middleware', 'forward-auth').spec.forwardAuth.trustForwardHeader).toBe(false);
  });

  it('rejects an address that is not an http(s) URL and an invalid name', () => {
    const { built: middleware, problems } = render({ namespace: 'edge', name: 'Forward_Auth', address: 'oauth2-proxy:80' });
    expect(middleware.node.validate()).toEqual([
      '"edge/Forward_Auth" is not a valid namespace/name for a Middleware',
      'address "oauth2-proxy:80" is not an http(s) URL',
    ]);
    expect(problems).toEqual(
      expect.arrayContaining([
        'lab/edge/auth: "edge/Forward_Auth" is not a valid namespace/name for a Middleware',
        'lab/edge/auth: address "oauth2-proxy:80" is not an http(s) URL',
      ]),
    );
  });
});

describe(`the default cluster's credentials (${SECRET_FILE})`, () => {
  const text = readFileSync(join(REPO_ROOT, SECRET_FILE), 'utf8');

  it('is the Secret oauth2-proxy in namespace traefik, with the keys the Deployment reads', () => {
    const doc = parse(text) as { metadata: unknown; kind: string; type: string; stringData: Record<string, string> };
    expect(doc).toMatchObject({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: 'oauth2-proxy', namespace: 'traefik' },
    });
    expect(Object.keys(doc.stringData).sort()).toEqual(Object.values(OAUTH2_PROXY_SECRET_KEYS).sort());
  });

  const recipients = (parse(text) as { sops: { age: { recipient: string }[] } }).sops.age.map((entry) => entry.recipient);
  // Once re-keyed for real keys (docs/secrets.md), the file cannot be decrypted here.
  it.skipIf(!recipients.includes(keys.argocd.publicKey))(
    'decrypts (example key) to placeholders, with a cookie secret oauth2-proxy refuses (fails closed)',
    async () => {
      const stringData = (await referenceDecrypt(text, keys.argocd.secretKey)).data.stringData as Record<string, string>;
      expect(stringData['client-id']).toMatch(/EXAMPLE/);
      expect(stringData['client-secret']).toMatch(/EXAMPLE/);
      // Anyone can decrypt the example secret, so its cookie secret must not be a usable key:
      // oauth2-proxy only starts with a 16, 24 or 32 byte secret (raw or base64-decoded).
      const cookieSecret = stringData['cookie-secret'] ?? '';
      expect(cookieSecret).toMatch(/EXAMPLE/);
      const lengths = [Buffer.byteLength(cookieSecret), Buffer.from(cookieSecret, 'base64url').length];
      for (const length of lengths) expect([16, 24, 32]).not.toContain(length);
    },
  );
});
