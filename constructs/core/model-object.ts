import { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';

/** Anything shaped like a `@kubernetes-models` model: plain data with apiVersion, kind and metadata. */
export interface TypedModel {
  toJSON(): unknown;
}

/**
 * Adds a typed `@kubernetes-models` object (a CR from cert-manager, Traefik, ArgoCD, ...) to the
 * construct tree. The model types the fields as they are written; synth validates the result
 * against the same package's schema.
 */
export function modelObject(scope: Construct, id: string, model: TypedModel): ApiObject {
  const { apiVersion, kind, metadata, ...rest } = model.toJSON() as {
    apiVersion: string;
    kind: string;
    metadata?: Record<string, unknown>;
    [key: string]: unknown;
  };
  return new ApiObject(scope, id, { apiVersion, kind, metadata, ...rest });
}
