// Tests never reach AWS or Docker, and must not read the developer's settings.
process.env.CDK_VALIDATION = 'false'; // test/security/cdk-nag.test.ts turns the built-in CloudFormation validation back on for every mode
// Every App of the tests reads this context (as an app reads what the CDK CLI passes): no stack trace recorded for each
// construct and its metadata. Under Jest each trace goes through the source maps of the transformed files; without
// them test/mode-apps.test.ts took 11.1 s instead of 16.5 s. No test reads a trace (templates do not hold them).
process.env.CDK_CONTEXT_JSON = JSON.stringify({
  'aws:cdk:disable-stack-trace': true,
  'aws:cdk:disable-creation-stack-traces': true,
});
for (const name of [
  'SOLUTION_ID',
  'DOMAIN_JOIN_ECS',
  'FARGATE',
  'CREDSPEC_FROM_S3',
  'DEPLOY_APP',
  'EC2_INSTANCE_KEYPAIR_NAME',
  'MY_SG_INGRESS_IP',
  'NAT_GATEWAYS',
  'DB_INSTANCE_TYPE',
  'DB_ENGINE_VERSION',
  'KEEP_BASTION_RUNNING',
  'BASTION_AMI_ID',
  'ECS_INSTANCE_TYPE',
  'ECS_MIN_CAPACITY',
  'ECS_MAX_CAPACITY',
  'APP_IMAGE',
  'IDENTITY_ROTATION_DAYS',
  'CERTIFICATE_ARN',
  'ALARM_EMAIL',
]) {
  delete process.env[name];
}
