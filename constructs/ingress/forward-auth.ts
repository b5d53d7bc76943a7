import { Middleware } from '@kubernetes-models/traefik/traefik.io/v1alpha1/Middleware';
import type { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { isDnsLabel } from '../../framework/rules/network.js';
import { modelObject } from '../core/model-object.js';
import { type MiddlewareRef, middlewareProviderName } from './middleware-ref.js';

/**
 * Identity headers an oauth2-proxy-style auth server answers with, copied onto the request to the
 * app: who signed in, never their tokens (an app that needs one opts in, see OAuth2Proxy's
 * `passTokens`), and never `Authorization`, which would overwrite the app's own.
 */
export const DEFAULT_AUTH_RESPONSE_HEADERS: readonly string[] = ['X-Auth-Request-User', 'X-Auth-Request-Email'];

/** The token headers oauth2-proxy answers with when it passes the user's tokens on. */
export const TOKEN_AUTH_RESPONSE_HEADERS: readonly string[] = ['X-Auth-Request-Access-Token', 'Authorization'];

export interface ForwardAuthMiddlewareProps {
  /** Namespace of the Middleware; Ingresses refer to it as `<namespace>-<name>@kubernetescrd`. */
  readonly namespace: string;
  /** @default 'forward-auth' */
  readonly name?: string;
  /** URL Traefik asks for every request; a 2xx answer lets the request through, anything else goes back to the client. */
  readonly address: string;
  /**
   * Pass the X-Forwarded-* headers Traefik set (host, URI, proto) on to the auth server. Always
   * written out: Traefik v3.7 deprecated the field and warns when it is left unset. @default true
   */
  readonly trustForwardHeader?: boolean;
  /** Headers of the auth server's 2xx answer copied onto the request to the app. @default DEFAULT_AUTH_RESPONSE_HEADERS */
  readonly authResponseHeaders?: readonly string[];
  /**
   * Headers copied by pattern. Traefik first deletes every client-sent header matching it, so an
   * app can trust them: a client cannot smuggle in `X-Auth-Request-Groups` the proxy did not list.
   * @default '^X-Auth-Request-'
   */
  readonly authResponseHeadersRegex?: string;
  /**
   * Cookies of the auth server's 2xx answer copied onto the response to the client (e.g. a refreshed
   * session cookie, which would otherwise never reach the browser). @default none
   */
  readonly addAuthCookiesToResponse?: readonly string[];
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A Traefik `forwardAuth` Middleware: delegates the decision on every request of a router to an auth server. */
export class ForwardAuthMiddleware extends Construct {
  readonly ref: MiddlewareRef;
  /** The name Ingress annotations and entry points use: `<namespace>-<name>@kubernetescrd`. */
  readonly providerName: string;
  readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: ForwardAuthMiddlewareProps) {
    super(scope, id);
    this.ref = { namespace: props.namespace, name: props.name ?? 'forward-auth' };
    this.providerName = middlewareProviderName(this.ref);
    const authResponseHeaders = props.authResponseHeaders ?? DEFAULT_AUTH_RESPONSE_HEADERS;
    const cookies = props.addAuthCookiesToResponse ?? [];

    this.resource = modelObject(
      this,
      'Resource',
      new Middleware({
        metadata: {
          name: this.ref.name,
          namespace: this.ref.namespace,
        },
        spec: {
          forwardAuth: {
            address: props.address,
            trustForwardHeader: props.trustForwardHeader ?? true,
            authResponseHeaders: [...authResponseHeaders],
            authResponseHeadersRegex: props.authResponseHeadersRegex ?? '^X-Auth-Request-',
            // Bounded: an auth answer is a status and headers; Traefik reads it unbounded otherwise.
            maxResponseBodySize: 65536,
            ...(cookies.length > 0 ? { addAuthCookiesToResponse: [...cookies] } : {}),
          },
        },
      }),
    );

    this.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        if (!isDnsLabel(this.ref.namespace) || !isDnsLabel(this.ref.name)) {
          errors.push(`"${this.ref.namespace}/${this.ref.name}" is not a valid namespace/name for a Middleware`);
        }
        let protocol: string | undefined;
        try {
          protocol = new URL(props.address).protocol;
        } catch {
          protocol = undefined;
        }
        if (protocol !== 'http:' && protocol !== 'https:') errors.push(`address "${props.address}" is not an http(s) URL`);
        for (const header of authResponseHeaders) {
          if (!HEADER_NAME.test(header)) errors.push(`authResponseHeaders: "${header}" is not a valid header name`);
        }
        return errors;
      },
    });
  }
}
