import { createHash } from 'node:crypto';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KUSTOMIZE_CONTRIBUTION, type KustomizeEntries } from '../../framework/contributions.js';
import { cidrError, isDnsLabel, isDnsName } from '../../framework/rules/network.js';
import { floatingImageError } from '../core/pinning.js';
import { isReservedAddress } from '../core/reserved-names.js';
import { httpProbe, RESTRICTED_POD_SECURITY_CONTEXT, SURGE_ONE_ROLLOUT, spreadAcrossNodes } from '../core/workload.js';
import { declareMetrics } from '../monitoring/metrics.js';
import type { SopsSecret } from '../secrets/sops-secret.js';
import { DEFAULT_AUTH_RESPONSE_HEADERS, ForwardAuthMiddleware, TOKEN_AUTH_RESPONSE_HEADERS } from './forward-auth.js';

/** The oauth2-proxy release this library is tested with. */
export const OAUTH2_PROXY_VERSION = 'v7.15.3';

/** Keys the credentials Secret must hold. */
export const OAUTH2_PROXY_SECRET_KEYS = {
  clientId: 'client-id',
  clientSecret: 'client-secret',
  cookieSecret: 'cookie-secret',
} as const;

/**
 * `oidc`: any OpenID Connect issuer (discovery from the issuer URL). `gitlab`: GitLab's provider,
 * which also reads group and project membership; the issuer URL selects the GitLab instance.
 */
export type OAuth2ProxyProvider = 'oidc' | 'gitlab';

export interface OAuth2ProxyProps {
  /** Namespace of oauth2-proxy, its Secret and its forward-auth Middleware (usually Traefik's). */
  readonly namespace: string;
  /** Base name of the ServiceAccount, Deployment, Service and the other objects. @default 'oauth2-proxy' */
  readonly name?: string;
  /** Container image, pinned by tag or digest. @default 'quay.io/oauth2-proxy/oauth2-proxy:<OAUTH2_PROXY_VERSION>' */
  readonly image?: string;
  /** @default 2 */
  readonly replicas?: number;
  /** @default 'oidc' */
  readonly provider?: OAuth2ProxyProvider;
  /** OpenID Connect issuer (https), e.g. `https://gitlab.com` or a Keycloak realm URL. */
  readonly oidcIssuerUrl: string;
  /**
   * oauth2-proxy's own public host name (e.g. `auth.<domain>`). The provider sends browsers back
   * to `https://<host>/oauth2/callback`; register that URL with the OAuth application. It must
   * lie inside one of `cookieDomains`.
   */
  readonly host: string;
  /** Domains the session cookie is set for, so one sign-in covers every host below them (e.g. `.example.org`). */
  readonly cookieDomains: readonly string[];
  /** Domains browsers may be sent back to after sign-in (`.example.org` or `*.example.org` for subdomains). @default cookieDomains */
  readonly whitelistDomains?: readonly string[];
  /**
   * E-mail addresses allowed in, one per line of the authenticated-emails file (a ConfigMap).
   * No `--email-domain` is set: oauth2-proxy admits an address that matches an e-mail domain OR
   * the file, so any domain (let alone `*`) would widen the allow-list.
   */
  readonly allowedEmails: readonly string[];
  /** Secret with the keys `client-id`, `client-secret` and `cookie-secret` (16, 24 or 32 bytes, base64url), in `namespace`. */
  readonly credentials: SopsSecret;
  /** Refresh the session (and the tokens it holds) after this Go duration; `0` disables. @default '1h' */
  readonly cookieRefresh?: string;
  /** Lifetime of the session cookie (Go duration); a user signs in again after it. @default '168h' */
  readonly cookieExpire?: string;
  /** Use PKCE (`S256`) in the authorization-code flow. @default true */
  readonly pkce?: boolean;
  /** Name of the forward-auth Middleware, created in `namespace`. @default 'forward-auth' */
  readonly middlewareName?: string;
  /**
   * Where the reverse proxy's requests come from (the pod CIDRs Traefik runs in): only these may
   * set the X-Forwarded-* headers oauth2-proxy builds its redirects from (`--trusted-proxy-ip`).
   * oauth2-proxy v7.15 trusts every address when none is given.
   */
  readonly trustedProxyCidrs: readonly string[];
  /**
   * Pass the user's tokens to the apps behind SSO: the access token (`X-Auth-Request-Access-Token`)
   * and the ID token as `Authorization: Bearer`, which replaces any Authorization header of the
   * request. Every protected app then holds the user's provider token. @default false
   */
  readonly passTokens?: boolean;
  /**
   * Headers of oauth2-proxy's answer that Traefik copies onto the request to the app.
   * @default DEFAULT_AUTH_RESPONSE_HEADERS, plus TOKEN_AUTH_RESPONSE_HEADERS with `passTokens`
   */
  readonly authResponseHeaders?: readonly string[];
  /** DNS domain of the cluster, for the Middleware's in-cluster address. @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** @default requests 10m CPU / 32Mi memory, limit 128Mi memory */
  readonly resources?: k8s.ResourceRequirements;
  /** Declare oauth2-proxy's metrics endpoint (a ServiceMonitor where the cluster applies the metrics addon). @default true */
  readonly serviceMonitor?: boolean;
  /** Extra oauth2-proxy flags, appended after the ones this construct sets (e.g. `--gitlab-group=...`). @default none */
  readonly extraArgs?: readonly string[];
}

const HTTP_PORT = 4180;
const METRICS_PORT = 44180;
const EMAILS_DIR = '/etc/oauth2-proxy/authenticated-emails';
const EMAILS_KEY = 'emails.txt';
/** oauth2-proxy's default session cookie name, written out so the Middleware below can name it too. */
const COOKIE_NAME = '_oauth2_proxy';
/** A session larger than 4 KiB is split into `<name>_0`, `<name>_1`, ...; three parts cover ID token, access and refresh token. */
const SPLIT_COOKIE_PARTS = 3;

const DEFAULT_RESOURCES: k8s.ResourceRequirements = {
  requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('32Mi') },
  limits: { memory: k8s.Quantity.fromString('128Mi') },
};

const EMAIL = /^[^\s@,"#]+@[^\s@,"]+$/;
const GO_DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|ms|s|m|h)/gy;
const GO_DURATION_UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, '\u00b5s': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** Seconds in a Go duration string (`1h`, `90m`, `1h30m`, `0`), or undefined when it is not one. */
function goDurationSeconds(value: string): number | undefined {
  if (value === '0') return 0;
  if (value.length === 0) return undefined;
  GO_DURATION_PART.lastIndex = 0;
  let seconds = 0;
  let match: RegExpExecArray | null = GO_DURATION_PART.exec(value);
  while (match) {
    seconds += Number(match[1]) * (GO_DURATION_UNIT_SECONDS[match[2] ?? ''] ?? Number.NaN);
    if (GO_DURATION_PART.lastIndex === value.length) return seconds;
    match = GO_DURATION_PART.exec(value);
  }
  return undefined;
}

/** A cookie domain covers a host when the host is the domain or lies below it (a leading dot is ignored). */
function coversHost(domain: string, host: string): boolean {
  const bare = domain.replace(/^\./, '');
  return host === bare || host.endsWith(`.${bare}`);
}

/**
 * oauth2-proxy as the cluster's SSO gate for Traefik: a highly available Deployment under the
 * `restricted` Pod Security Standard that signs users in with an OpenID Connect provider, admits
 * only the e-mail addresses on its allow-list, and keeps the session in a secure cookie shared by
 * every host under `cookieDomains`; plus the `forwardAuth` Middleware that Ingresses opt into.
 *
 * The Middleware asks oauth2-proxy's root, `http://<name>.<namespace>.svc.<clusterDomain>/`, not
 * `/oauth2/auth`. oauth2-proxy runs with `--upstream=static://202`, so at the root a signed-in
 * request gets 202 (Traefik lets it through, with the identity headers), and a browser without a
 * session is redirected straight to the provider (`--skip-provider-button`), coming back to the
 * page it asked for. `/oauth2/auth` only answers 202 or 401, and a 401 would reach the browser as
 * a bare error unless every router also carried an errors middleware. Requests that ask for JSON
 * still get a 401 at the root.
 *
 * Not created here: the Ingress for `host`. Route it to `service` (port `http`) as a public
 * Ingress: it is the sign-in endpoint itself, and putting it behind its own forward-auth would
 * loop on the callback.
 */
export class OAuth2Proxy extends Construct {
  readonly namespace: string;
  /** oauth2-proxy's public host name; it serves `/oauth2/callback`. */
  readonly host: string;
  /** The OAuth redirect (callback) URL to register with the provider. */
  readonly redirectUrl: string;
  /** Where an Ingress sends the sign-in host: the ClusterIP Service in front of oauth2-proxy (port `http`). */
  readonly service: k8s.KubeService;
  /** The Middleware Ingresses use for SSO: `auth: { sso: oauth2Proxy.forwardAuth }`. */
  readonly forwardAuth: ForwardAuthMiddleware;
  readonly deployment: k8s.KubeDeployment;

  private readonly allowedEmails: readonly string[];

  constructor(scope: Construct, id: string, props: OAuth2ProxyProps) {
    super(scope, id);
    this.allowedEmails = props.allowedEmails;
    this.namespace = props.namespace;
    this.host = props.host;
    this.redirectUrl = `https://${props.host}/oauth2/callback`;
    const namespace = props.namespace;
    const name = props.name ?? 'oauth2-proxy';
    const image = props.image ?? `quay.io/oauth2-proxy/oauth2-proxy:${OAUTH2_PROXY_VERSION}`;
    const replicas = props.replicas ?? 2;
    const provider = props.provider ?? 'oidc';
    const whitelistDomains = props.whitelistDomains ?? props.cookieDomains;
    const cookieRefresh = props.cookieRefresh ?? '1h';
    const cookieExpire = props.cookieExpire ?? '168h';
    const clusterDomain = props.clusterDomain ?? 'cluster.local';
    const extraArgs = props.extraArgs ?? [];
    const passTokens = props.passTokens ?? false;
    const selector = { 'app.kubernetes.io/name': 'oauth2-proxy', 'app.kubernetes.io/instance': name };
    const labels = { ...selector, 'app.kubernetes.io/component': 'authentication-proxy' };
    const secretName = props.credentials.secretName;
    props.credentials.requireKeys(Object.values(OAUTH2_PROXY_SECRET_KEYS));

    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name, namespace, labels },
      automountServiceAccountToken: false,
    });

    const emails = `${props.allowedEmails.join('\n')}\n`;
    const emailsConfigMap = `${name}-authenticated-emails`;
    new k8s.KubeConfigMap(this, 'AuthenticatedEmails', {
      metadata: { name: emailsConfigMap, namespace, labels },
      data: { [EMAILS_KEY]: emails },
    });

    const args = [
      `--provider=${provider}`,
      `--oidc-issuer-url=${props.oidcIssuerUrl}`,
      `--redirect-url=${this.redirectUrl}`,
      ...((props.pkce ?? true) ? ['--code-challenge-method=S256'] : []),
      `--authenticated-emails-file=${EMAILS_DIR}/${EMAILS_KEY}`,
      '--reverse-proxy=true',
      '--upstream=static://202',
      ...props.trustedProxyCidrs.map((cidr) => `--trusted-proxy-ip=${cidr}`),
      '--set-xauthrequest=true',
      ...(passTokens ? ['--pass-access-token=true', '--set-authorization-header=true'] : []),
      '--skip-provider-button=true',
      `--cookie-name=${COOKIE_NAME}`,
      '--cookie-secure=true',
      '--cookie-samesite=lax',
      `--cookie-refresh=${cookieRefresh}`,
      `--cookie-expire=${cookieExpire}`,
      ...props.cookieDomains.map((domain) => `--cookie-domain=${domain}`),
      ...whitelistDomains.map((domain) => `--whitelist-domain=${domain}`),
      `--http-address=0.0.0.0:${HTTP_PORT}`,
      `--metrics-address=0.0.0.0:${METRICS_PORT}`,
      '--silence-ping-logging=true',
      ...extraArgs,
    ];
    const fromSecret = (envName: string, key: string): k8s.EnvVar => ({
      name: envName,
      valueFrom: { secretKeyRef: { name: secretName, key } },
    });

    this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name, namespace, labels },
      spec: {
        replicas,
        selector: { matchLabels: selector },
        strategy: SURGE_ONE_ROLLOUT,
        template: {
          metadata: {
            labels,
            // Rolls the pods when the allow-list changes, rather than trusting the file watch.
            annotations: { 'checksum/authenticated-emails': createHash('sha256').update(emails).digest('hex') },
          },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: RESTRICTED_POD_SECURITY_CONTEXT,
            topologySpreadConstraints: spreadAcrossNodes(selector),
            containers: [
              {
                name: 'oauth2-proxy',
                image,
                args,
                env: [
                  fromSecret('OAUTH2_PROXY_CLIENT_ID', OAUTH2_PROXY_SECRET_KEYS.clientId),
                  fromSecret('OAUTH2_PROXY_CLIENT_SECRET', OAUTH2_PROXY_SECRET_KEYS.clientSecret),
                  fromSecret('OAUTH2_PROXY_COOKIE_SECRET', OAUTH2_PROXY_SECRET_KEYS.cookieSecret),
                ],
                ports: [
                  { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
                  { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
                ],
                readinessProbe: httpProbe('/ready', 'http', 1),
                livenessProbe: httpProbe('/ping', 'http', 3),
                resources: props.resources ?? DEFAULT_RESOURCES,
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: [{ name: 'authenticated-emails', mountPath: EMAILS_DIR, readOnly: true }],
              },
            ],
            volumes: [{ name: 'authenticated-emails', configMap: { name: emailsConfigMap } }],
          },
        },
      },
    });

    new k8s.KubePodDisruptionBudget(this, 'PodDisruptionBudget', {
      metadata: { name, namespace, labels },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
    });

    const service = new k8s.KubeService(this, 'Service', {
      metadata: { name, namespace, labels },
      spec: {
        type: 'ClusterIP',
        selector,
        ports: [
          { name: 'http', port: 80, protocol: 'TCP', targetPort: k8s.IntOrString.fromString('http') },
          { name: 'metrics', port: METRICS_PORT, protocol: 'TCP', targetPort: k8s.IntOrString.fromString('metrics') },
        ],
      },
    });
    this.service = service;

    if (props.serviceMonitor ?? true) {
      declareMetrics(this, { name, labels, service, port: 'metrics', path: '/metrics' });
    }

    this.forwardAuth = new ForwardAuthMiddleware(this, 'ForwardAuth', {
      namespace,
      name: props.middlewareName ?? 'forward-auth',
      address: `http://${name}.${namespace}.svc.${clusterDomain}/`,
      trustForwardHeader: true,
      authResponseHeaders: props.authResponseHeaders ?? [
        ...DEFAULT_AUTH_RESPONSE_HEADERS,
        ...(passTokens ? TOKEN_AUTH_RESPONSE_HEADERS : []),
      ],
      // A refreshed session comes back on the 202; without these Traefik drops it and every later
      // request refreshes again (with a refresh token the provider may already have rotated).
      addAuthCookiesToResponse: [COOKIE_NAME, ...Array.from({ length: SPLIT_COOKIE_PARTS }, (_, i) => `${COOKIE_NAME}_${i}`)],
    });

    this.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        const imageError = floatingImageError(image);
        if (imageError) errors.push(imageError);
        if (!Number.isInteger(replicas) || replicas < 1) errors.push(`replicas must be a positive integer (got ${replicas})`);
        if (!isDnsLabel(name)) errors.push(`name "${name}" is not a valid DNS label`);
        if (props.trustedProxyCidrs.length === 0) {
          errors.push(
            'trustedProxyCidrs is empty: name the pod CIDRs the reverse proxy runs in, or oauth2-proxy trusts X-Forwarded-* headers from anyone',
          );
        }
        for (const cidr of props.trustedProxyCidrs) {
          if (cidrError(cidr)) errors.push(`trustedProxyCidrs: "${cidr}" is not a CIDR (<address>/<prefix>)`);
        }

        let issuer: URL | undefined;
        try {
          issuer = new URL(props.oidcIssuerUrl);
        } catch {
          issuer = undefined;
        }
        if (issuer?.protocol !== 'https:') errors.push(`oidcIssuerUrl "${props.oidcIssuerUrl}" must be an https URL`);

        if (props.allowedEmails.length === 0) {
          errors.push('allowedEmails is empty: nobody could sign in (oauth2-proxy admits only the listed addresses)');
        }
        for (const email of props.allowedEmails) {
          if (!EMAIL.test(email)) errors.push(`allowedEmails: "${email}" is not an e-mail address`);
        }
        const lowered = props.allowedEmails.map((email) => email.toLowerCase());
        if (new Set(lowered).size !== lowered.length) errors.push('allowedEmails has duplicates (addresses compare case-insensitively)');
        if (extraArgs.some((arg) => /^--?email-domains?(=|$)/.test(arg))) {
          errors.push('extraArgs must not set --email-domain: it would admit addresses outside allowedEmails');
        }

        if (props.cookieDomains.length === 0) errors.push('cookieDomains is empty: the session cookie would not be shared between hosts');
        for (const domain of props.cookieDomains) {
          if (!isDnsName(domain.replace(/^\./, ''))) errors.push(`cookieDomains: "${domain}" is not a domain (e.g. ".example.org")`);
        }
        for (const domain of whitelistDomains) {
          const bare = domain.replace(/^(\*\.|\.)/, '').replace(/:(\d+|\*)$/, '');
          if (!isDnsName(bare)) errors.push(`whitelistDomains: "${domain}" is not a domain (e.g. ".example.org")`);
        }
        if (!isDnsName(props.host)) {
          errors.push(`host "${props.host}" is not a valid DNS name`);
        } else if (props.cookieDomains.length > 0 && !props.cookieDomains.some((domain) => coversHost(domain, props.host))) {
          errors.push(`host "${props.host}" is outside every cookieDomain: the session set at the callback would not reach the apps`);
        }

        if (props.credentials.namespace !== namespace) {
          errors.push(`credentials Secret "${secretName}" is in namespace ${props.credentials.namespace}, not ${namespace}`);
        }

        const refresh = goDurationSeconds(cookieRefresh);
        const expire = goDurationSeconds(cookieExpire);
        if (refresh === undefined) errors.push(`cookieRefresh "${cookieRefresh}" is not a Go duration (e.g. 1h, 30m)`);
        if (expire === undefined) errors.push(`cookieExpire "${cookieExpire}" is not a Go duration (e.g. 168h)`);
        if (refresh !== undefined && expire !== undefined && refresh > 0 && expire > 0 && refresh >= expire) {
          errors.push(`cookieRefresh (${cookieRefresh}) must be shorter than cookieExpire (${cookieExpire})`);
        }
        if (!isDnsName(clusterDomain)) errors.push(`clusterDomain "${clusterDomain}" is not a valid DNS name`);
        return errors;
      },
    });
  }

  /** An allowed address at a reserved domain is a placeholder: nobody can sign in with it. */
  [KUSTOMIZE_CONTRIBUTION](): KustomizeEntries {
    return {
      examples: this.allowedEmails.filter(isReservedAddress).map((email) => ({
        field: 'allowedEmails',
        value: email,
        replace: 'an SSO allow-list address at a reserved domain: no real account has it; list the addresses of the people who sign in',
      })),
    };
  }
}
