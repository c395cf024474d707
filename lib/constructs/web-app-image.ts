import * as path from 'path';
import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { Construct } from 'constructs';

/** The web app's sources, built into the image by `cdk deploy`. */
export const WEB_APP_DIRECTORY = path.join(__dirname, '..', '..', 'web-app');

/** How many images the `<SOLUTION_ID>/web-site` repository keeps; older ones expire. */
export const KEPT_IMAGES = 10;

/** Props of {@link WebAppImage}. */
export interface WebAppImageProps {
  /** Name of the ECR repository for people who push their own image, e.g. `<SOLUTION_ID>/web-site`. */
  readonly repositoryName: string;
  /**
   * An existing image reference (`APP_IMAGE`) instead of building `web-app/`.
   * @default - built from `web-app/` by the CDK toolkit during `cdk deploy`
   */
  readonly appImage?: string;
  /**
   * Directory with the web app's Dockerfile.
   * @default WEB_APP_DIRECTORY
   */
  readonly directory?: string;
}

/** An image in Amazon ECR, split into the parts an ARN and a tag or digest need. */
export interface EcrImageReference {
  readonly account: string;
  readonly region: string;
  /** `aws-cn` for `.amazonaws.com.cn` registries; otherwise the deploying partition. */
  readonly partition: string;
  readonly repositoryName: string;
  /** A tag, or a digest `sha256:...`. */
  readonly tagOrDigest: string;
}

const ECR_IMAGE =
  /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/([a-z0-9][a-z0-9._/-]*?)(?::([\w][\w.-]{0,127})|@(sha256:[a-f0-9]{64}))?$/;

/** The parts of an Amazon ECR private image reference; `undefined` for any other registry. */
export function parseEcrImage(image: string): EcrImageReference | undefined {
  const match = ECR_IMAGE.exec(image);
  if (!match) return undefined;
  const [, account, region, china, repositoryName, tag, digest] = match;
  return {
    account,
    region,
    partition: china ? 'aws-cn' : Aws.PARTITION,
    repositoryName,
    tagOrDigest: digest ?? tag ?? 'latest',
  };
}

/**
 * The web app's container image, and the ECR repository `<SOLUTION_ID>/web-site` for people who push their own.
 *
 * - Default: `ContainerImage.fromAsset('web-app/')` for linux/amd64. `cdk deploy` builds it with the local Docker and
 *   pushes it to the bootstrap asset repository; `cdk synth` and the tests only fingerprint the directory. CDK grants
 *   the task execution role pull on that repository.
 * - `APP_IMAGE` in Amazon ECR (this account's `<SOLUTION_ID>/web-site` or any other ECR repository): the image is
 *   referenced through the repository, so the execution role gets pull on that one repository (another account's
 *   repository must also allow this account in its repository policy).
 * - `APP_IMAGE` elsewhere (a public registry): pulled anonymously through the NAT gateway; no grant needed.
 */
export class WebAppImage extends Construct {
  /** The image for the container definition. */
  public readonly image: ecs.ContainerImage;
  /** The (empty at first) repository for people who push their own image. */
  public readonly repository: ecr.Repository;

  constructor(scope: Construct, id: string, props: WebAppImageProps) {
    super(scope, id);

    this.repository = new ecr.Repository(this, 'Repository', {
      repositoryName: props.repositoryName,
      imageScanOnPush: true,
      // A tag names one image for good: a task that starts tomorrow runs what was deployed today. Push each build
      // under a new tag (the deploy's own image goes to CDK's asset repository, tagged with its content hash).
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      // The last few pushes stay; older images go, so the repository does not grow with every build.
      lifecycleRules: [{ description: `Keep the last ${KEPT_IMAGES} images`, maxImageCount: KEPT_IMAGES }],
      // A sample people deploy and destroy: `cdk destroy` deletes the repository with its images.
      emptyOnDelete: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    if (props.appImage === undefined) {
      this.image = ecs.ContainerImage.fromAsset(props.directory ?? WEB_APP_DIRECTORY, {
        // gMSA for Linux containers is documented for x86_64; the Dockerfile pins linux/amd64 too.
        platform: Platform.LINUX_AMD64,
        // Build outputs and tests are not part of the image (web-app/.dockerignore says the same to Docker); keeping
        // them out of the fingerprint means a local `dotnet build` does not make `cdk deploy` rebuild the image.
        exclude: ['**/bin', '**/obj', '**/TestResults', 'tests', '*.slnx', '*.sln', '.vs', '.vscode'],
      });
      return;
    }

    const ecrImage = parseEcrImage(props.appImage);
    if (ecrImage === undefined) {
      this.image = ecs.ContainerImage.fromRegistry(props.appImage);
      return;
    }
    const repository = ecr.Repository.fromRepositoryAttributes(this, 'AppImageRepository', {
      repositoryName: ecrImage.repositoryName,
      repositoryArn: `arn:${ecrImage.partition}:ecr:${ecrImage.region}:${ecrImage.account}:repository/${ecrImage.repositoryName}`,
    });
    // Binding the container grants the execution role pull on this repository (and ecr:GetAuthorizationToken).
    this.image = ecs.ContainerImage.fromEcrRepository(repository, ecrImage.tagOrDigest);
  }
}
