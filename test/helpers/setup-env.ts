// Tests never reach AWS or Docker, and must not read the developer's settings.
process.env.CDK_VALIDATION = 'false'; // test/security/cdk-nag.test.ts turns the built-in CloudFormation validation back on for every mode
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
  'ECS_INSTANCE_TYPE',
  'ECS_MIN_CAPACITY',
  'ECS_MAX_CAPACITY',
  'APP_IMAGE',
  'IDENTITY_ROTATION_DAYS',
]) {
  delete process.env[name];
}
