import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { POD_SECURITY_REASON_ANNOTATION } from '../../framework/rules/pod-security.js';

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
    new k8s.KubeNamespace(this, 'namespace', {
      metadata: {
        name: props.name,
        annotations: {
          [POD_SECURITY_REASON_ANNOTATION]:
            'CSI node plugins run privileged with host networking and mount /dev, /sys, the kubelet directory and the host root to attach volumes',
        },
        labels: {
          'pod-security.kubernetes.io/enforce': 'privileged',
          'pod-security.kubernetes.io/audit': 'privileged',
          'pod-security.kubernetes.io/warn': 'privileged',
        },
      },
    });
  }
}
