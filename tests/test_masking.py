from bot.masking import mask, secret_values


def test_secret_values_come_from_secret_looking_names_only():
    environ = {
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG",
        "GITLAB_TOKEN": "glpat-abcdefghijklmnopqrst",
        "DB_PASSWORD": "hunter22hunter",
        "AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=https;AccountKey=abc",
        "SHORT_TOKEN": "true",  # too short to replace everywhere
        "HOME": "/home/runner/work",
    }
    assert sorted(secret_values(environ)) == sorted(
        [
            "wJalrXUtnFEMI/K7MDENG",
            "glpat-abcdefghijklmnopqrst",
            "hunter22hunter",
            "DefaultEndpointsProtocol=https;AccountKey=abc",
        ]
    )


def test_mask_hides_values_token_shapes_and_url_passwords():
    text = (
        "key wJalrXUtnFEMI/K7MDENG id AKIAIOSFODNN7EXAMPLE gh ghp_" + "a" * 36 + " "
        "lab glpat-" + "b" * 20 + " url https://user:pa55@example.com/repo.git"
    )
    masked = mask(text, ["wJalrXUtnFEMI/K7MDENG"])
    assert masked == "key *** id *** gh *** lab *** url https://***@example.com/repo.git"
