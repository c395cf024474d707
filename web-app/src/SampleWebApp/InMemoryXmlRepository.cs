using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;

namespace SampleWebApp;

/// <summary>
/// Keeps ASP.NET Core's data-protection key ring in memory for the life of the process. The app protects nothing
/// that must outlive it (no forms, cookies or sign-in), so the keys need no disk and no encryption at rest.
/// </summary>
public sealed class InMemoryXmlRepository : IXmlRepository
{
    private readonly List<XElement> _elements = [];
    private readonly Lock _lock = new();

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        lock (_lock)
        {
            return _elements.Select(element => new XElement(element)).ToList();
        }
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        lock (_lock)
        {
            _elements.Add(new XElement(element));
        }
    }

    /// <summary>
    /// Says, explicitly, that keys held only in this process's memory are not encrypted (instead of ASP.NET Core's
    /// start-up warning that no encryptor is configured).
    /// </summary>
    public sealed class NoEncryption : IXmlEncryptor
    {
        public EncryptedXmlInfo Encrypt(XElement plaintextElement) =>
            new(new XElement("unencryptedInMemoryKey", new XElement(plaintextElement)), typeof(NoDecryption));
    }

    /// <summary>Reverses <see cref="NoEncryption"/>.</summary>
    public sealed class NoDecryption : IXmlDecryptor
    {
        public XElement Decrypt(XElement encryptedElement) => new(encryptedElement.Elements().Single());
    }
}
