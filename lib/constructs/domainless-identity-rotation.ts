import * as path from 'path';
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct, IDependable } from 'constructs';
import { RotationTamperAlerts } from './rotation-tamper-alerts';
import { DOMAINLESS_USERNAME } from '../directory-names';
import { acknowledgeGuardRule } from '../guard-acknowledgements';

/** Props of {@link DomainlessIdentityRotation}. */
export interface DomainlessIdentityRotationProps {
  /** The domainless identity secret, JSON `{username, password, domainName}`; it may belong to another stack. */
  readonly secret: secretsmanager.ISecret;
  /** Id (`d-...`) of the AWS Managed Microsoft AD that holds the user. */
  readonly directoryId: string;
  /**
   * sAMAccountName of the AD user whose password rotates; the function refuses to reset any other user.
   * @default DOMAINLESS_USERNAME
   */
  readonly username?: string;
  /** The VPC of the directory; the function calls Secrets Manager and Directory Service through its NAT. */
  readonly vpc: ec2.IVpc;
  /**
   * Subnets of the function.
   * @default - the private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Days between automatic rotations (1 to 1000).
   * @default 30
   */
  readonly rotationDays?: number;
  /**
   * What the rotation schedule waits for. Creating the schedule rotates at once, and the AD user must exist by then:
   * pass the bastion (or whatever signals that the user has been created).
   * @default - no extra dependency
   */
  readonly dependsOn?: IDependable[];
  /**
   * Retention of the function's log group (destroyed with the stack).
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Where to send an alert when someone changes the function's code or configuration, or resets the password of any
   * other user of the directory (see {@link RotationTamperAlerts}).
   * @default - no alert
   */
  readonly alertTopic?: sns.ITopic;
}

/**
 * Rotates the domainless identity's AD password: a Secrets Manager rotation function (lambda/rotate-domainless-identity)
 * that sets a new password in the secret and, with Directory Service `ResetUserPassword`, on the AD user, and the
 * rotation schedule that runs it. The schedule is created in this construct's stack even when the secret belongs to
 * another one, so it can wait for resources of this stack (see `dependsOn`).
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda.html
 */
export class DomainlessIdentityRotation extends Construct {
  /** The rotation function. */
  public readonly function: nodejs.NodejsFunction;
  /** The function's execution role. */
  public readonly role: iam.Role;
  /** The function's security group: no inbound rule, outbound HTTPS and DNS only. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;
  /** The rotation schedule on the secret. */
  public readonly rotationSchedule: secretsmanager.RotationSchedule;
  /** The policy that holds `ds:ResetUserPassword`, usable only from this function's code. */
  public readonly resetPolicy: iam.Policy;
  /** The alerts on changes to the function and on resets of other users; only with `alertTopic`. */
  public readonly tamperAlerts?: RotationTamperAlerts;
  /**
   * The role's permissions boundary: the most the role can ever do, whatever policy is attached to it later
   * (docs/security.md, "The rotation role").
   */
  public readonly boundary: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: DomainlessIdentityRotationProps) {
    super(scope, id);
    const rotationDays = props.rotationDays ?? 30;
    if (!Number.isInteger(rotationDays) || rotationDays < 1 || rotationDays > 1000) {
      throw new Error(
        `rotationDays must be a whole number of days from 1 to 1000 (Secrets Manager's limits), got ${rotationDays}.`,
      );
    }
    const username = props.username ?? DOMAINLESS_USERNAME;

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Domainless identity rotation function: no inbound, HTTPS to AWS APIs and DNS in the VPC out',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to the Secrets Manager and Directory Service APIs (through the NAT gateway)',
    );
    // Name resolution: the VPC's DHCP options name the directory's domain controllers (in the VPC) as DNS servers;
    // should the function resolve through them rather than the Amazon-provided resolver (which no rule governs),
    // these two rules let it.
    this.securityGroup.addEgressRule(ec2.Peer.ipv4(props.vpc.vpcCidrBlock), ec2.Port.udp(53), 'DNS in the VPC');
    this.securityGroup.addEgressRule(ec2.Peer.ipv4(props.vpc.vpcCidrBlock), ec2.Port.tcp(53), 'DNS in the VPC');

    // An own role rather than the function's default one, which would attach the AWS managed policies
    // AWSLambdaBasicExecutionRole and AWSLambdaVPCAccessExecutionRole (broader than needed).
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Rotates the domainless identity: that secret, ResetUserPassword on that directory',
    });
    this.logGroup.grantWrite(this.role);
    // Lambda creates and deletes the function's network interfaces with the execution role.
    this.role.addToPolicy(lambdaVpcNetworkInterfaces());
    // A fixed name, so that the permissions boundary below can name the function without a reference (the function
    // depends on its role, the role on its boundary). At most 32 + 9 + 18 characters: within Lambda's 64.
    const functionName = `${Stack.of(this).stackName}-identity-rotation`;
    const functionArn = Stack.of(this).formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: functionName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.boundary = this.applyBoundary(props, functionArn);
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      functionName,
      description: `Rotates the AD password of ${username} (domainless gMSA identity)`,
      entry: path.join(__dirname, '../../lambda/rotate-domainless-identity/index.ts'),
      handler: 'handler',
      // The newest Node.js runtime (cdk-nag AwsSolutions-L1); the handler needs Node 20 or later.
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(1),
      role: this.role,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
      logGroup: this.logGroup,
      environment: {
        DIRECTORY_ID: props.directoryId,
        IDENTITY_USERNAME: username,
      },
      // Bundled by esbuild from devDependencies (no Docker); the AWS SDK v3 clients come with the Node.js runtime.
    });

    // ds:ResetUserPassword can be scoped to a directory, but to no user: the service authorization reference lists no
    // condition key for it, and the Directory Service Data API, whose `ds-data:SAMAccountName` key does name a user,
    // has no password action. So the function refuses any other user itself (checkUser in rotation.ts), and this
    // statement works only from this function's code: Lambda puts the calling function's ARN into the request
    // context of every call its code makes (lambda:SourceFunctionArn), and nothing else that holds the role's
    // credentials carries it. Its own policy rather than the role's default one: the function waits for the default
    // policy, and this one names the function, which would be a cycle.
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsdirectoryservice.html
    // https://docs.aws.amazon.com/directoryservice/latest/admin-guide/iam_dsdata-condition-keys.html
    // https://docs.aws.amazon.com/lambda/latest/dg/permissions-source-function-arn.html
    this.resetPolicy = new iam.Policy(this, 'ResetPolicy', {
      roles: [this.role],
      statements: [
        this.resetFromFunctionOnly('ResetTheIdentityPasswordFromThisFunctionOnly', props.directoryId, functionArn),
      ],
    });

    // Adds, on the function's role: DescribeSecret, GetSecretValue, PutSecretValue and UpdateSecretVersionStage on
    // this secret only, and secretsmanager:GetRandomPassword on `*` (an action without a resource: AWS requires `*`);
    // and the permission for secretsmanager.amazonaws.com to invoke the function. Creating it starts a rotation.
    this.rotationSchedule = new secretsmanager.RotationSchedule(this, 'RotationSchedule', {
      secret: props.secret,
      rotationLambda: this.function,
      automaticallyAfter: Duration.days(rotationDays),
    });
    for (const dependency of props.dependsOn ?? []) {
      this.rotationSchedule.node.addDependency(dependency);
    }
    // Creating the schedule runs the first rotation, whose setSecret step needs the reset right.
    this.rotationSchedule.node.addDependency(this.resetPolicy);
    if (props.alertTopic) {
      this.tamperAlerts = new RotationTamperAlerts(this, 'TamperAlerts', {
        function: this.function,
        directoryId: props.directoryId,
        username,
        topic: props.alertTopic,
      });
    }
    this.restrictInvokePermission(props.secret);

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Lambda VPC network-interface actions and secretsmanager:GetRandomPassword do not support resource-level ' +
        'permissions; everything else names the secret, the log group or the directory.',
    });
    acknowledgeGuardRule(
      this.function,
      'LAMBDA_INSIDE_VPC_CHECK',
      "The function runs in the VPC's private subnets; the subnets come from the directory stack " +
        '(Fn::GetStackOutput), which the rule cannot follow: it accepts only literal IDs or references inside the template.',
    );
  }

  /**
   * The permission the rotation schedule adds lets secretsmanager.amazonaws.com invoke the function on behalf of any
   * secret of any account. Only this secret's rotation, in this account, may invoke it (the confused-deputy guard of a
   * resource-based policy: https://docs.aws.amazon.com/lambda/latest/dg/permissions-function-services.html).
   */
  /** ds:ResetUserPassword on the directory, only from the function's code: the role's policy and its boundary alike. */
  private resetFromFunctionOnly(sid: string, directoryId: string, functionArn: string): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid,
      actions: ['ds:ResetUserPassword'],
      resources: [Stack.of(this).formatArn({ service: 'ds', resource: 'directory', resourceName: directoryId })],
      conditions: { ArnEquals: { 'lambda:SourceFunctionArn': functionArn } },
    });
  }

  /**
   * A permissions boundary on the role: the actions the rotation needs, each on the one resource it concerns, and
   * `ds:ResetUserPassword` only from this function's code. An administrator who attaches a wider policy to the role
   * (or passes the role to another function) gets no more than this from it; the reset right still reaches every user
   * of the delegated OU, which only the function's code narrows (checkUser in rotation.ts). Without the boundary the
   * role would be one attached policy away from anything.
   * https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
   */
  private applyBoundary(props: DomainlessIdentityRotationProps, functionArn: string): iam.ManagedPolicy {
    const boundary = new iam.ManagedPolicy(this, 'Boundary', {
      description: 'Permissions boundary of the identity rotation function: its secret, its log group, its reset',
      statements: [
        new iam.PolicyStatement({
          sid: 'OwnLogGroup',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [this.logGroup.logGroupArn],
        }),
        lambdaVpcNetworkInterfaces(),
        new iam.PolicyStatement({
          sid: 'TheRotatedSecret',
          actions: [
            'secretsmanager:DescribeSecret',
            'secretsmanager:GetSecretValue',
            'secretsmanager:PutSecretValue',
            'secretsmanager:UpdateSecretVersionStage',
          ],
          resources: [props.secret.secretArn],
        }),
        new iam.PolicyStatement({
          sid: 'RandomPassword',
          actions: ['secretsmanager:GetRandomPassword'],
          resources: ['*'],
        }),
        this.resetFromFunctionOnly('ResetFromThisFunctionOnly', props.directoryId, functionArn),
      ],
    });
    iam.PermissionsBoundary.of(this.role).apply(boundary);
    Validations.of(boundary).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'A permissions boundary, granting nothing itself: the Lambda VPC network-interface actions and ' +
        'secretsmanager:GetRandomPassword have no resource-level permissions.',
    });
    return boundary;
  }

  private restrictInvokePermission(secret: secretsmanager.ISecret): void {
    const permissions = this.function.node.children.filter(
      (c): c is lambda.CfnPermission => c instanceof lambda.CfnPermission,
    );
    if (permissions.length !== 1) {
      throw new Error(
        `Expected the one invoke permission RotationSchedule adds to ${this.function.node.path}, found ${permissions.length}: aws-cdk-lib changed.`,
      );
    }
    const [permission] = permissions;
    permission.sourceAccount = Stack.of(this).account;
    permission.sourceArn = secret.secretArn;
    acknowledgeGuardRule(
      permission,
      'LAMBDA_FUNCTION_PUBLIC_ACCESS_PROHIBITED_CHECK',
      'SourceAccount (AWS::AccountId) and SourceArn (the secret, from the directory stack) are set; the rule accepts ' +
        'only literal strings or references inside the template, and these stacks name no account or region.',
    );
  }
}

/**
 * The network-interface actions Lambda performs with the execution role of a function in a VPC: the role's policy and
 * its boundary alike. DescribeNetworkInterfaces only works when allowed on `*`, DescribeSubnets has no resource, and
 * the interfaces' ids are not known in advance, so `*` (the EC2 part of AWSLambdaVPCAccessExecutionRole).
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions
 */
function lambdaVpcNetworkInterfaces(): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'LambdaVpcNetworkInterfaces',
    actions: [
      'ec2:CreateNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:DeleteNetworkInterface',
      'ec2:AssignPrivateIpAddresses',
      'ec2:UnassignPrivateIpAddresses',
    ],
    resources: ['*'],
  });
}
