// A Copernica client as a C# integrator builds one: Mono's `wsdl` tool on the vendor's WSDL
// (here the one tests/compat/copernica_wsdl.py writes from the catalogue, in the vendor's
// namespace) gives the POM_SOAP_API proxy, as in the vendor's C# sample and the Umbraco
// plugin; a CookieContainer keeps the login session ("otherwise we aren't logged in after the
// login request"), and Url points the proxy at the mock. Optional value members (int, bool)
// have a ...Specified flag in the proxy: a value set without its flag is silently not sent.
//
// Usage: mono Main.exe ENDPOINT flow EMAIL PRODUCT
//        mono Main.exe ENDPOINT remove PROFILE_ID EMAIL
// "flow": a call before login (the Not logged on fault), login, the account's databases,
// Customers and its fields, a profile created, searched, updated, a subprofile created and
// read back two ways. "remove": login, Profile_remove, the search again.
// Prints one JSON object; on an error, {"failed": STEP, "error": ...} and exits 2.
// tests/compat/test_copernica_catalogue_clients.py builds it and asserts on the output.

using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Net;
using System.Text;
using System.Web.Services.Protocols;
using Copernica;

public static class Program
{
    const string User = "api@shop.example", Password = "s3cret";
    static string step = "start";

    public static int Main(string[] args)
    {
        var api = new POM_SOAP_API();
        api.Url = args[0];
        api.CookieContainer = new CookieContainer();
        Dictionary<string, object> report;
        try
        {
            report = args[1] == "flow" ? Flow(api, args[2], args[3])
                                       : Remove(api, int.Parse(args[2]), args[3]);
        }
        catch (Exception error)
        {
            report = new Dictionary<string, object> {
                {"failed", step}, {"error", error.GetType().FullName + ": " + error.Message}};
            Console.WriteLine(Json(report));
            return 2;
        }
        Console.WriteLine(Json(report));
        return 0;
    }

    static Dictionary<string, object> Flow(POM_SOAP_API api, string email, string product)
    {
        var report = new Dictionary<string, object>();

        step = "Account_databases before login";
        try
        {
            api.Account_databases(new input_Account_databases());
            report["notLoggedOn"] = null;
        }
        catch (SoapException fault)
        {
            report["notLoggedOn"] = fault.Message;
        }

        step = "login";
        report["login"] = api.login(new input_login { username = User, password = Password }).value;

        step = "Account_databases";
        var databases = new input_Account_databases {
            allproperties = true, allpropertiesSpecified = true};
        var names = new List<object>();
        var all = ItemsOf(api.Account_databases(databases)).database ?? new Database[0];
        foreach (var database in all) names.Add(database.name);
        report["databases"] = names;

        step = "Account_database";
        var customers = api.Account_database(
            new input_Account_database { identifier = "Customers" }).database;
        report["database"] = customers.name;
        int db = customers.id;

        step = "Database_fields";
        var fieldNames = new List<object>();
        var fields = api.Database_fields(new input_Database_fields { id = db, idSpecified = true });
        foreach (var field in ItemsOf(fields).field ?? new Field[0]) fieldNames.Add(field.name);
        report["fields"] = fieldNames;

        step = "Database_createProfile";
        var profile = api.Database_createProfile(new input_Database_createProfile {
            id = db, idSpecified = true,
            fields = Map("Email", email, "FirstName", "Jörg", "City", "Köln")}).profile;
        report["profile"] = profile.id;
        report["code"] = profile.code;

        step = "Database_searchProfiles";
        report["search"] = Search(api, db, email);

        step = "Profile_updateFields";
        report["updated"] = api.Profile_updateFields(new input_Profile_updateFields {
            id = profile.id, idSpecified = true, fields = Map("City", "Berlin")}).value;

        step = "Database_collection";
        var collection = api.Database_collection(new input_Database_collection {
            id = db, idSpecified = true, identifier = "Orders"}).collection;
        report["collection"] = collection.name;
        var reference = new Collection { id = collection.id, idSpecified = true };

        step = "Profile_createSubProfile";
        var sub = api.Profile_createSubProfile(new input_Profile_createSubProfile {
            id = profile.id, idSpecified = true, collection = reference,
            fields = Map("OrderNo", "2001", "Product", product)}).subprofile;
        report["subprofile"] = sub.id;

        step = "Profile_subProfiles";
        report["subProfiles"] = SubProfiles(api.Profile_subProfiles(new input_Profile_subProfiles {
            id = profile.id, idSpecified = true, collection = reference,
            allproperties = true, allpropertiesSpecified = true}));

        step = "Collection_searchSubProfiles";
        report["searchSubProfiles"] = SubProfiles(api.Collection_searchSubProfiles(
            new input_Collection_searchSubProfiles {
                id = collection.id, idSpecified = true,
                requirements = Requirements("Product", "=", product),
                allproperties = true, allpropertiesSpecified = true}));
        return report;
    }

    static Dictionary<string, object> Remove(POM_SOAP_API api, int id, string email)
    {
        var report = new Dictionary<string, object>();
        step = "login";
        report["login"] = api.login(new input_login { username = User, password = Password }).value;

        step = "Account_database";
        int db = api.Account_database(
            new input_Account_database { identifier = "Customers" }).database.id;

        step = "Profile_remove";
        report["removed"] = api.Profile_remove(
            new input_Profile_remove { id = id, idSpecified = true }).value;

        step = "Database_searchProfiles after Profile_remove";
        var result = api.Database_searchProfiles(new input_Database_searchProfiles {
            id = db, idSpecified = true, requirements = Requirements("Email", "=", email)});
        report["total"] = result.totalSpecified ? (object) result.total : null;
        return report;
    }

    // Database_searchProfiles on Email = email, with all properties: total, ids, fields.
    static Dictionary<string, object> Search(POM_SOAP_API api, int db, string email)
    {
        var result = api.Database_searchProfiles(new input_Database_searchProfiles {
            id = db, idSpecified = true, requirements = Requirements("Email", "=", email),
            allproperties = true, allpropertiesSpecified = true});
        var found = new List<object>();
        foreach (var profile in ItemsOf(result).profile ?? new Profile[0])
            found.Add(new Dictionary<string, object> {
                {"id", profile.id}, {"fields", Pairs(profile.fields)}});
        return new Dictionary<string, object> {
            {"total", result.totalSpecified ? (object) result.total : null}, {"profiles", found}};
    }

    static List<object> SubProfiles(Result result)
    {
        var found = new List<object>();
        foreach (var sub in ItemsOf(result).subprofile ?? new SubProfile[0])
            found.Add(new Dictionary<string, object> {
                {"id", sub.id}, {"fields", Pairs(sub.fields)}});
        return found;
    }

    static Items ItemsOf(Result result)
    {
        return result.items ?? new Items();
    }

    static Pair[] Map(params string[] keysAndValues)
    {
        var pairs = new Pair[keysAndValues.Length / 2];
        for (int i = 0; i < pairs.Length; i++)
            pairs[i] = new Pair { key = keysAndValues[2 * i], value = keysAndValues[2 * i + 1] };
        return pairs;
    }

    static Dictionary<string, object> Pairs(Pair[] pairs)
    {
        var values = new Dictionary<string, object>();
        foreach (var pair in pairs ?? new Pair[0]) values[pair.key] = pair.value;
        return values;
    }

    static Requirement[] Requirements(string fieldname, string op, string value)
    {
        return new[] { new Requirement {
            fieldname = fieldname, @operator = op, value = value,
            casesensitive = false, casesensitiveSpecified = true} };
    }

    static string Json(object value)
    {
        if (value == null) return "null";
        if (value is bool) return (bool) value ? "true" : "false";
        if (value is int) return ((int) value).ToString(CultureInfo.InvariantCulture);
        var map = value as IDictionary;
        if (map != null)
        {
            var parts = new List<string>();
            foreach (DictionaryEntry entry in map)
                parts.Add(Json(entry.Key.ToString()) + ":" + Json(entry.Value));
            return "{" + string.Join(",", parts) + "}";
        }
        var list = value as IList;
        if (list != null)
        {
            var parts = new List<string>();
            foreach (var item in list) parts.Add(Json(item));
            return "[" + string.Join(",", parts) + "]";
        }
        var text = new StringBuilder("\"");
        foreach (char c in value.ToString())
        {
            if (c == '"' || c == '\\') text.Append('\\').Append(c);
            else if (c < 0x20 || c > 0x7e) text.AppendFormat("\\u{0:x4}", (int) c);
            else text.Append(c);
        }
        return text.Append('"').ToString();
    }
}
