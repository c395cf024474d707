import { WaiterStateMachine } from '@aws-cdk/integ-tests-alpha';
import { ArnFormat, CfnResource, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** An IAM statement as integ-tests-alpha's assertion provider keeps it: a plain JSON blob. */
interface ProviderStatement {
  Action: string | string[];
  Effect: string;
  Resource: unknown;
}

/** The part of integ-tests-alpha's (internal) provider function this reads: its role's inline statements. */
interface ProviderFunction extends IConstruct {
  readonly policies: ProviderStatement[];
}

function isProviderFunction(node: IConstruct): node is ProviderFunction {
  return (
    Array.isArray((node as Partial<ProviderFunction>).policies) &&
    node.node.tryFindChild('Role') instanceof CfnResource &&
    node.node.tryFindChild('Handler') instanceof CfnResource
  );
}

function isWaiter(node: IConstruct): node is WaiterStateMachine {
  return node instanceof WaiterStateMachine;
}

/** Why the provider roles keep AWS's managed logging policy, for cdk-nag reading the template. */
const LOGGING_POLICY_ACKNOWLEDGEMENT = {
  id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
  reason:
    'Role of the integration test assertion function that @aws-cdk/integ-tests-alpha creates; the library attaches ' +
    'this AWS managed policy (write its own logs only) and has no setting to replace it. What the function may read or ' +
    'change is its inline policy, scoped to the resources of the deployment under test. Deployed only by npm run integ.',
};

/** Why the waiters' state machines have no execution logs or tracing, for cdk-nag reading the template. */
const WAITER_ACKNOWLEDGEMENTS = [
  {
    id: 'AwsSolutions-SF1',
    reason:
      'Waiter of an integration test assertion (@aws-cdk/integ-tests-alpha): it only retries one read until it ' +
      'matches; each attempt is logged by the assertion function, and the state machine lives only for one npm run integ.',
  },
  {
    id: 'AwsSolutions-SF2',
    reason:
      'Waiter of an integration test assertion: no X-Ray tracing needed for a retry loop that lives one test run.',
  },
];

/**
 * integ-tests-alpha grants each `awsApiCall` its action on `*` (its provider has no way to name resources). This
 * replaces each `*` with the resources the test really calls, and the waiters' `states:StartExecution` with the
 * stack's own state machines, so the assertion functions can read the deployment under test and nothing else.
 * A statement still on `*` afterwards (an assertion added without saying what it touches) fails the synth. The
 * library's roles and state machines are `CfnResource`s the in-app cdk-nag does not read; their acknowledgements are
 * written into the template for a check that re-reads it.
 *
 * @param resources the resources of each IAM action the assertions call, e.g. `{'ecs:DescribeServices': [arn]}`
 */
export function hardenAssertionStack(stack: Stack, resources: Readonly<Record<string, readonly string[]>>): void {
  const all = stack.node.findAll();
  // The waiters' state machines get names of their own: granting StartExecution on their Ref would make each provider
  // role depend on a state machine whose role depends on that provider (a cycle CloudFormation refuses).
  const stateMachines = all.filter(isWaiter).map((waiter, index) => {
    const name = `${stack.stackName}-wait-${index + 1}`;
    const stateMachine = waiter.node.findChild('Resource') as CfnResource;
    stateMachine.addPropertyOverride('StateMachineName', name);
    stateMachine.addMetadata('cdk_nag', { rules_to_suppress: WAITER_ACKNOWLEDGEMENTS });
    return stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: name,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  });
  const scoped: Record<string, readonly string[]> = { 'states:StartExecution': stateMachines, ...resources };
  for (const provider of all.filter(isProviderFunction)) {
    for (const statement of provider.policies) {
      if (!isWildcard(statement.Resource)) continue;
      const actions = [statement.Action].flat();
      const named = actions.map((action) => scoped[action]);
      if (named.some((list) => list === undefined || list.length === 0)) {
        throw new Error(
          `${provider.node.path}: assertion action ${actions.join(', ')} on "*": name its resources in ` +
            'scopeAssertionPolicies (test/integ/gmsa-integ-test.ts).',
        );
      }
      statement.Resource = [...new Set(named.flat())];
    }
    const role = provider.node.findChild('Role') as CfnResource;
    role.addMetadata('cdk_nag', { rules_to_suppress: [LOGGING_POLICY_ACKNOWLEDGEMENT] });
  }
}

function isWildcard(resource: unknown): boolean {
  return resource === '*' || (Array.isArray(resource) && resource.includes('*'));
}
