# scripts/Update-ECSTaskDefinitionCredSpec.ps1 run for real against a fake `aws` executable put first on PATH (the
# script calls the AWS CLI, not the AWS Tools): it answers describe-task-definition from the fixture the Bash twin's
# jest test uses (test/scripts/fixtures/describe-task-definition-legacy.json) and keeps the register-task-definition
# input, so both scripts are held to the same expectations.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Script = Join-Path $RepositoryRoot 'scripts/Update-ECSTaskDefinitionCredSpec.ps1'
    $script:Fixture = Join-Path $RepositoryRoot 'test/scripts/fixtures/describe-task-definition-legacy.json'
    $script:SsmCredSpec = 'arn:aws:ssm:us-east-1:111111111111:parameter/gmsa-linux-ecs/credspec'
    $script:S3CredSpec = 'arn:aws:s3:::gmsa-credspecs-111111111111/credspecs/SampleWebApp.json'
    $script:SourceArn = 'arn:aws:ecs:us-east-1:111111111111:task-definition/sample-web-app:3'
    $script:NewArn = 'arn:aws:ecs:us-east-1:111111111111:task-definition/sample-web-app:4'
    $script:ReadOnlyFields = 'taskDefinitionArn', 'revision', 'status', 'requiresAttributes', 'compatibilities',
    'registeredAt', 'registeredBy', 'deregisteredAt'

    # The fake AWS CLI (v2): logs each call, answers from files in $FAKE_AWS_DIR, keeps the register input.
    $script:FakeAws = @'
#!/usr/bin/env bash
if [[ "$1" == --version ]]; then echo 'aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64'; exit 0; fi
printf '%s\n' "$*" >> "$FAKE_AWS_DIR/calls.log"
case "$1 $2" in
  "ecs describe-task-definition")
    if [[ -f "$FAKE_AWS_DIR/describe-error.txt" ]]; then cat "$FAKE_AWS_DIR/describe-error.txt" >&2; exit 254; fi
    cat "$FAKE_AWS_DIR/describe.json"
    ;;
  "ecs register-task-definition")
    [[ "$3" == --cli-input-json && "$4" == file://* ]] || { echo "fake aws: expected --cli-input-json file://..." >&2; exit 255; }
    cp "${4#file://}" "$FAKE_AWS_DIR/register-input.json"
    echo '{"taskDefinition":{"taskDefinitionArn":"arn:aws:ecs:us-east-1:111111111111:task-definition/sample-web-app:4","revision":4}}'
    ;;
  *) echo "fake aws: unexpected call: $*" >&2; exit 255 ;;
esac
'@

    function Get-Fixture { Get-Content -Raw -Path $script:Fixture | ConvertFrom-Json }

    function Invoke-Migration {
        # Runs the script with the fake aws first on PATH; returns the outcome and what the fake saw.
        param([string[]] $Arguments, $Describe = (Get-Fixture), [string] $DescribeError, [hashtable] $Named = @{})
        $dir = New-Item -ItemType Directory -Path (Join-Path $TestDrive ([guid]::NewGuid()))
        $bin = New-Item -ItemType Directory -Path (Join-Path $dir 'bin')
        Set-Content -Path (Join-Path $bin 'aws') -Value $script:FakeAws -NoNewline
        chmod +x (Join-Path $bin 'aws')
        Set-Content -Path (Join-Path $dir 'describe.json') -Value ($Describe | ConvertTo-Json -Depth 20)
        if ($DescribeError) { Set-Content -Path (Join-Path $dir 'describe-error.txt') -Value $DescribeError }
        $savedPath = $env:PATH
        $env:PATH = $bin.FullName + [IO.Path]::PathSeparator + $env:PATH
        $env:FAKE_AWS_DIR = $dir.FullName
        $errorMessage = $null
        try {
            $records = & $script:Script @Arguments @Named 6>&1
        }
        catch { $errorMessage = $_.Exception.Message }
        finally {
            $env:PATH = $savedPath
            Remove-Item Env:FAKE_AWS_DIR
        }
        $read = { param($name) $file = Join-Path $dir $name; if (Test-Path $file) { Get-Content -Raw -Path $file } }
        [pscustomobject]@{
            Output     = @($records | Where-Object { $_ -isnot [System.Management.Automation.InformationRecord] } | ForEach-Object { "$_" })
            Host       = @($records | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$_" })
            Error      = $errorMessage
            Calls      = @((& $read 'calls.log') -split "`n" | Where-Object { $_ })
            Registered = & $read 'register-input.json'
        }
    }

    function Get-ExpectedInput {
        # The fixture's task definition as register-task-definition must receive it: read-only fields dropped, the
        # tags kept, the web container's credentialspec entry moved to credentialSpecs, everything else unchanged.
        param([string] $CredentialSpec)
        $described = Get-Fixture
        $expected = $described.taskDefinition
        foreach ($field in $script:ReadOnlyFields) { $expected.PSObject.Properties.Remove($field) }
        $expected | Add-Member -NotePropertyName tags -NotePropertyValue $described.tags
        $expected.containerDefinitions[0].dockerSecurityOptions = @('no-new-privileges')
        $expected.containerDefinitions[0] | Add-Member -NotePropertyName credentialSpecs -NotePropertyValue @($CredentialSpec)
        ConvertTo-CanonicalJson $expected
    }
}

Describe 'Update-ECSTaskDefinitionCredSpec.ps1' {
    Context 'migrates the legacy dockerSecurityOptions entry' {
        It 'GIVEN -Mode Domainless THEN it registers credentialspecdomainless:ARN, the rest unchanged, and writes the new ARN' {
            $run = Invoke-Migration -Arguments 'sample-web-app' -Named @{ Mode = 'Domainless' }

            $run.Error | Should -BeNullOrEmpty
            ConvertTo-CanonicalJson $run.Registered | Should -BeExactly (Get-ExpectedInput "credentialspecdomainless:$SsmCredSpec")
            $run.Output | Should -Be @($NewArn)
            $run.Host | Should -Contain "container web: dockerSecurityOptions [credentialspec:$SsmCredSpec] -> credentialSpecs [credentialspecdomainless:$SsmCredSpec]"
            $run.Calls | Should -HaveCount 2
            $run.Calls[0] | Should -BeExactly 'ecs describe-task-definition --task-definition sample-web-app --include TAGS --output json --no-cli-pager'
            $run.Calls[1] | Should -Match '^ecs register-task-definition --cli-input-json file://\S+ --output json --no-cli-pager$'
        }

        It 'GIVEN -Mode DomainJoined and an ARN THEN it registers credentialspec:ARN' {
            $run = Invoke-Migration -Arguments $SourceArn -Named @{ Mode = 'DomainJoined' }

            $run.Error | Should -BeNullOrEmpty
            ConvertTo-CanonicalJson $run.Registered | Should -BeExactly (Get-ExpectedInput "credentialspec:$SsmCredSpec")
            $run.Output | Should -Be @($NewArn)
        }

        It 'GIVEN the credentialspec entry was the only option THEN dockerSecurityOptions goes and the log router is untouched' {
            $describe = Get-Fixture
            $describe.taskDefinition.containerDefinitions[0].dockerSecurityOptions = @("credentialspec:$SsmCredSpec")

            $run = Invoke-Migration -Arguments 'sample-web-app' -Named @{ Mode = 'Domainless' } -Describe $describe

            $web, $logRouter = ($run.Registered | ConvertFrom-Json).containerDefinitions
            $web.PSObject.Properties.Name | Should -Not -Contain 'dockerSecurityOptions'
            $web.credentialSpecs | Should -Be @("credentialspecdomainless:$SsmCredSpec")
            ConvertTo-CanonicalJson $logRouter | Should -BeExactly (ConvertTo-CanonicalJson (Get-Fixture).taskDefinition.containerDefinitions[1])
        }

        It 'GIVEN -CredSpecArn and -Region THEN it uses that ARN and passes the Region to every call' {
            $run = Invoke-Migration -Arguments 'sample-web-app' -Named @{ Mode = 'Domainless'; CredSpecArn = $S3CredSpec; Region = 'eu-west-1' }

            ($run.Registered | ConvertFrom-Json).containerDefinitions[0].credentialSpecs | Should -Be @("credentialspecdomainless:$S3CredSpec")
            $run.Calls | Should -HaveCount 2
            $run.Calls | ForEach-Object { $_ | Should -Match ' --output json --region eu-west-1 --no-cli-pager$' }
        }
    }

    It 'GIVEN -DryRun THEN it writes the register input and registers nothing' {
        $run = Invoke-Migration -Arguments 'sample-web-app' -Named @{ Mode = 'Domainless'; DryRun = $true }

        ConvertTo-CanonicalJson ($run.Output -join "`n") | Should -BeExactly (Get-ExpectedInput "credentialspecdomainless:$SsmCredSpec")
        $run.Calls | Should -HaveCount 1
        $run.Registered | Should -BeNullOrEmpty
    }

    It 'GIVEN the container already has the requested credentialSpecs THEN it says so and registers nothing' {
        $describe = Get-Fixture
        $describe.taskDefinition.containerDefinitions[0].dockerSecurityOptions = @('no-new-privileges')
        $describe.taskDefinition.containerDefinitions[0] | Add-Member -NotePropertyName credentialSpecs -NotePropertyValue @("credentialspecdomainless:$SsmCredSpec")

        $run = Invoke-Migration -Arguments 'sample-web-app' -Named @{ Mode = 'Domainless' } -Describe $describe

        $run.Host | Should -Be @("Nothing to migrate in ${SourceArn}: container(s) web already use credentialSpecs (Domainless).")
        $run.Output | Should -BeNullOrEmpty
        $run.Registered | Should -BeNullOrEmpty
        $run.Calls | Should -HaveCount 1
    }

    Context 'bad input: its error, nothing registered' {
        It 'GIVEN -Mode DomainJoined on a FARGATE task definition THEN it refuses' {
            $describe = Get-Fixture
            $describe.taskDefinition.requiresCompatibilities = @('FARGATE')

            $run = Invoke-Migration -Arguments 'sample-web-app' -Named @{ Mode = 'DomainJoined' } -Describe $describe

            $run.Error | Should -BeExactly "Cannot migrate ${SourceArn}: the task definition requires FARGATE, which supports domainless gMSA only: use -Mode Domainless."
            $run.Registered | Should -BeNullOrEmpty
        }

        It 'GIVEN a CredSpec that is not an ARN THEN it refuses' {
            $describe = Get-Fixture
            $describe.taskDefinition.containerDefinitions[0].dockerSecurityOptions = @('credentialspec:file://webapp.json')

            $run = Invoke-Migration -Arguments 'sample-web-app' -Named @{ Mode = 'Domainless' } -Describe $describe

            $run.Error | Should -BeExactly "Cannot migrate ${SourceArn}: container web uses CredSpec 'file://webapp.json', which is not an S3 or SSM ARN: upload it and pass -CredSpecArn."
            $run.Registered | Should -BeNullOrEmpty
        }

        It 'GIVEN describe-task-definition fails THEN it stops naming the call' {
            $run = Invoke-Migration -Arguments 'sample-web-app' -Named @{ Mode = 'Domainless' } `
                -DescribeError 'An error occurred (ClientException) when calling the DescribeTaskDefinition operation: Unable to describe task definition.'

            $run.Error | Should -BeExactly 'aws ecs describe-task-definition failed with exit code 254 (its message is above).'
            $run.Calls | Should -HaveCount 1
        }

        It 'GIVEN <Name> THEN parameter validation refuses it before any aws call' -ForEach @(
            @{ Name = 'an unknown mode'; Arguments = @('sample-web-app'); Named = @{ Mode = 'Both' }; Message = "*Cannot validate argument on parameter 'Mode'*" }
            @{ Name = 'a task definition name with a space'; Arguments = @('my app!'); Named = @{ Mode = 'Domainless' }; Message = "*Cannot validate argument on parameter 'TaskDefinition'*" }
            @{ Name = 'an IAM ARN as CredSpec'; Arguments = @('sample-web-app'); Named = @{ Mode = 'Domainless'; CredSpecArn = 'arn:aws:iam::111111111111:role/x' }; Message = "*Cannot validate argument on parameter 'CredSpecArn'*" }
            @{ Name = 'a Region that is not one'; Arguments = @('sample-web-app'); Named = @{ Mode = 'Domainless'; Region = 'moon' }; Message = "*Cannot validate argument on parameter 'Region'*" }
        ) {
            $run = Invoke-Migration -Arguments $Arguments -Named $Named

            $run.Error | Should -BeLike $Message
            $run.Calls | Should -BeNullOrEmpty
        }
    }
}
