import { Construct } from 'constructs';
import { podSecurityNamespace } from '../core/namespace.js';

export interface CsiNamespaceProps {
  readonly name: string;
}

/**
 * The namespace of CSI driver pods. Pod Security `privileged`: the node plugins run privileged
 * with host networking and mount /dev, /sys, the kubelet directory and the host root.
 */
export class CsiNamespace extends Construct {
  readonly name: string;

  constructor(scope: Construct, id: string, props: CsiNamespaceProps) {
    super(scope, id);
    this.name = props.name;
    podSecurityNamespace(this, 'namespace', {
      name: props.name,
      level: 'privileged',
      reason:
        'CSI node plugins run privileged with host networking and mount /dev, /sys, the kubelet directory and the host root to attach volumes',
    });
  }
}
