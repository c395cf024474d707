import * as path from 'path';
import { MessageChannel, MessagePort, receiveMessageOnPort, Worker } from 'worker_threads';
import { CloudFormationValidatePlugin, IPolicyValidationContext, PolicyValidationPluginReport } from 'aws-cdk-lib';

/** How long a synth waits for the worker's report before validating on the main thread instead. */
const DEFAULT_REPLY_TIMEOUT_MS = 180_000;

/** Options of {@link BackgroundCloudFormationValidation.start}; the defaults are what `cdk synth` uses. */
export interface BackgroundCloudFormationValidationOptions {
  /**
   * Warm the rule engine up in the worker as soon as it starts.
   * @default true
   */
  readonly warmUp?: boolean;
  /**
   * How long `validate` waits for the worker's report (milliseconds) before validating on the main thread.
   * @default 180000
   */
  readonly replyTimeoutMs?: number;
  /**
   * Called with the reason each time a report is made on the main thread instead of the worker (the synth is then
   * slower, never different).
   * @default nothing
   */
  readonly onFallback?: (reason: string) => void;
  /**
   * The worker's script; only tests replace it (with one that fails, to check the fallback).
   * @default the worker next to this file
   */
  readonly workerScript?: string;
}

interface WorkerReply {
  readonly report?: PolicyValidationPluginReport;
  readonly version?: string;
  readonly error?: string;
}

/**
 * CDK's built-in CloudFormation validation, with its rule engine set up in a worker thread while the app builds its
 * stacks. Setting the engine up is most of the validation's cost (about 3 s on 2 cores against about 0.4 s to check
 * four templates) and the app's own work is single-threaded, so the two overlap.
 *
 * The checks are CDK's own: the worker runs aws-cdk-lib's `CloudFormationValidatePlugin` unchanged. Being one, this
 * plugin replaces the default instance (CDK adds its default only when none is registered), and CDK treats its report
 * as the built-in one (same plugin name: errors shown as warnings unless the feature flag says otherwise, and
 * acknowledgements honoured). If the worker is gone, fails or does not answer in time, the plugin validates on the main
 * thread as CDK would have.
 */
export class BackgroundCloudFormationValidation extends CloudFormationValidatePlugin {
  /** Starts the worker (and its warm-up) now; register the plugin on the app with `Validations.of(app).addPlugins`. */
  public static start(options: BackgroundCloudFormationValidationOptions = {}): BackgroundCloudFormationValidation {
    return new BackgroundCloudFormationValidation(options);
  }

  /** How many reports the worker made. */
  public workerReports = 0;
  /** How many reports the main thread made because of a problem with the worker. */
  public mainThreadReports = 0;
  /** Why the last report was made on the main thread. */
  public lastFallbackReason: string | undefined;

  private worker: Worker | undefined;
  private workerProblem: string | undefined;
  private readonly replies: MessagePort;
  private readonly signal = new Int32Array(new SharedArrayBuffer(4));
  private readonly replyTimeoutMs: number;
  private engineVersion: string | undefined;
  private readonly onFallback: ((reason: string) => void) | undefined;

  private constructor(options: BackgroundCloudFormationValidationOptions) {
    super();
    this.replyTimeoutMs = options.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS;
    this.onFallback = options.onFallback;
    const { port1, port2 } = new MessageChannel();
    this.replies = port1;
    const worker = new Worker(options.workerScript ?? path.join(__dirname, 'cloudformation-validation-worker.cjs'), {
      workerData: { signal: this.signal, replies: port2, warmUp: options.warmUp ?? true },
      transferList: [port2],
    });
    // The app synthesizes on `beforeExit`, which a running worker would hold back: the worker must not keep the
    // process alive.
    worker.unref();
    worker.on('error', (error) => {
      this.workerProblem = `the validation worker failed: ${error.message}`;
    });
    worker.on('exit', (code) => {
      this.workerProblem ??= `the validation worker exited with code ${code}`;
      this.worker = undefined;
    });
    this.worker = worker;
  }

  /** Whether the worker is still there to validate (false once it failed, exited or was stopped). */
  public get running(): boolean {
    return this.worker !== undefined;
  }

  /** The version of the rule engine that made the last report (the engine is loaded only in the worker). */
  public override get version(): string | undefined {
    return this.engineVersion ?? super.version;
  }

  public override get ruleIds(): string[] | undefined {
    return this.engineVersion !== undefined ? [this.engineVersion] : super.ruleIds;
  }

  /**
   * Validates the templates in the worker; synchronous, as CDK calls plugins (the main thread waits on a shared flag
   * the worker raises once its reply is posted).
   */
  public override validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const reply = this.askWorker(context);
    if (reply?.report !== undefined) {
      this.engineVersion = reply.version;
      this.workerReports++;
      return reply.report;
    }
    this.mainThreadReports++;
    this.lastFallbackReason = reply?.error ?? this.workerProblem ?? 'the validation worker gave no report';
    this.onFallback?.(this.lastFallbackReason);
    return super.validate(context);
  }

  /** Stops the worker; later validations run on the main thread. */
  public stop(): Promise<number> | undefined {
    const worker = this.worker;
    this.worker = undefined;
    this.workerProblem ??= 'the validation worker was stopped';
    this.replies.close();
    return worker?.terminate();
  }

  private askWorker(context: IPolicyValidationContext): WorkerReply | undefined {
    const worker = this.worker;
    if (worker === undefined) return undefined;
    // Only plain data crosses to the worker (the context may also hold the app's construct tree).
    const request = {
      stackTemplates: context.stackTemplates,
      accountId: context.accountId,
      region: context.region,
    };
    Atomics.store(this.signal, 0, 0);
    worker.postMessage(request);
    if (Atomics.wait(this.signal, 0, 0, this.replyTimeoutMs) === 'timed-out') {
      this.workerProblem = `the validation worker did not answer within ${this.replyTimeoutMs / 1000} s`;
      void this.stop();
      return undefined;
    }
    const message = receiveMessageOnPort(this.replies);
    return message?.message as WorkerReply | undefined;
  }
}
