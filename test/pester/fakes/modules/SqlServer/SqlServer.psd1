# The fake SqlServer module's manifest: the version Invoke-BastionSetup.ps1 imports (SQLSERVER_MODULE_VERSION in
# lib/constructs/ad-management-bastion.ts), so `Import-Module SqlServer -RequiredVersion 22.3.0` and
# Configure-Database.ps1's `-MinimumVersion 22.0` load this fake, as they load the real module on the instance.
@{
    RootModule        = 'SqlServer.psm1'
    ModuleVersion     = '22.3.0'
    GUID              = '6b3f0f4e-1c1a-4d7e-9a57-2f0f1d4e8a11'
    FunctionsToExport = @('Invoke-Sqlcmd')
}
