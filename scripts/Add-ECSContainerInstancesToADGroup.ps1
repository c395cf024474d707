<#
.SYNOPSIS
    Adds the computer accounts of an Auto Scaling group's domain-joined ECS container instances to the gMSA group.

.DESCRIPTION
    For people who scale by hand in domain-joined mode: the cluster's hosts add themselves to the group at boot; this
    script does it from the AD management instance for every instance of the group, e.g. for hosts that joined
    before the group existed. Each host must renew its Kerberos ticket (or restart credentials-fetcher) afterwards.
    Computers already in the group are left as they are.

.PARAMETER EcsAsgName
    Name of the Auto Scaling group of the ECS container instances (the cluster stack's ECSAutoScalingGroupName
    output).

.PARAMETER GmsaPrincipalsGroup
    AD group allowed to retrieve the gMSA password; the instances' computer accounts are added to it.

.PARAMETER Server
    A domain controller or the domain's DNS name. Default: the domain of this computer.

.PARAMETER Credential
    An AD account that may change the group's members. Default: the signed-in user.

.PARAMETER Region
    AWS Region of the Auto Scaling group. Default: the Region of the AWS tools' configuration.

.EXAMPLE
    .\Add-ECSContainerInstancesToADGroup.ps1 -EcsAsgName <AutoScalingGroupName>

.EXAMPLE
    # From a host that is not joined to the domain:
    .\Add-ECSContainerInstancesToADGroup.ps1 -EcsAsgName <name> -Server directory.amazon-ecs-gmsa-linux.com -Credential (Get-Credential)
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string] $EcsAsgName,

    [string] $GmsaPrincipalsGroup = 'SampleWebAppGmsaPrincipals',

    # A domain controller or the domain's DNS name. Default: the domain of this computer.
    [string] $Server,

    [System.Management.Automation.PSCredential] $Credential,

    [string] $Region
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
Import-Module ActiveDirectory

$ad = @{}
if ($Server) { $ad.Server = $Server }
if ($Credential) { $ad.Credential = $Credential }
$aws = @{}
if ($Region) { $aws.Region = $Region }

$asg = Get-ASAutoScalingGroup -AutoScalingGroupName $EcsAsgName @aws
if (-not $asg) { throw "Auto Scaling group $EcsAsgName not found." }

$members = @(Get-ADGroupMember -Identity $GmsaPrincipalsGroup @ad | Select-Object -ExpandProperty SamAccountName)
foreach ($asgInstance in $asg.Instances) {
    $instance = (Get-EC2Instance -InstanceId $asgInstance.InstanceId @aws).Instances | Select-Object -First 1
    # A Linux host joins under its short host name (ip-10-0-1-23), upper case and cut to 15 characters (NetBIOS).
    $hostName = $instance.PrivateDnsName.Split('.')[0]
    $computerName = $hostName.Substring(0, [Math]::Min(15, $hostName.Length)).ToUpperInvariant()
    $computer = Get-ADComputer -Filter "Name -eq '$computerName'" @ad
    if (-not $computer) {
        Write-Warning "$($asgInstance.InstanceId): no computer account $computerName (not joined yet?)."
        continue
    }
    if ($members -contains $computer.SamAccountName) {
        Write-Output "$($asgInstance.InstanceId): $($computer.SamAccountName) is already in $GmsaPrincipalsGroup."
        continue
    }
    Add-ADGroupMember -Identity $GmsaPrincipalsGroup -Members $computer @ad
    Write-Output "$($asgInstance.InstanceId): added $($computer.SamAccountName) to $GmsaPrincipalsGroup."
}
