namespace SampleWebApp.Diagnostics;

/// <summary>How the page judges the session's authentication scheme.</summary>
public enum AuthVerdict
{
    /// <summary>KERBEROS: the gMSA's ticket was used. What this sample sets out to prove.</summary>
    Success,

    /// <summary>NTLM, SQL or anything else: connected, but not the way this sample intends.</summary>
    Problem,
}

/// <summary>The verdict on <c>auth_scheme</c> with one sentence explaining it.</summary>
public sealed record AuthSchemeAssessment(string Scheme, AuthVerdict Verdict, string Explanation)
{
    /// <summary>Judges an <c>auth_scheme</c> value from <c>sys.dm_exec_connections</c>.</summary>
    public static AuthSchemeAssessment For(string? authScheme)
    {
        var scheme = string.IsNullOrWhiteSpace(authScheme) ? "UNKNOWN" : authScheme.Trim().ToUpperInvariant();
        return scheme switch
        {
            "KERBEROS" => new(scheme, AuthVerdict.Success,
                "Kerberos: the container logged in with the gMSA's ticket from credentials-fetcher, without any password in the task."),
            "NTLM" => new(scheme, AuthVerdict.Problem,
                "NTLM: the driver could not use Kerberos and fell back to NTLM. The server name usually has no SPN: " +
                "use <db-instance-id>.<directory DNS name>, not the RDS endpoint."),
            "SQL" => new(scheme, AuthVerdict.Problem,
                "SQL Server authentication: the connection string holds a user name and password. " +
                "This sample should connect with Integrated Security=true and no password."),
            _ => new(scheme, AuthVerdict.Problem,
                "Not KERBEROS: this sample expects the session to authenticate with the gMSA's Kerberos ticket."),
        };
    }
}
